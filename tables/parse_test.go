package tables

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseValid(t *testing.T) {
	in := `# node 1's recover table
vip 10.213.0.100/32 dev=eth0                      # defaults
vip 10.213.1.100/24 dev=eth1 label=eth1:web garp_count=0 garp_interval=10ms name=web-vip timeout=1s
cmd name=web start="/usr/sbin/websvc start" \
    stop='/usr/sbin/websvc stop' status="/usr/sbin/websvc status" timeout=5s
cmd stop=x start=y name=z
vip 10.213.2.100/32 dev=a-very-long-if  # a 14-character device: label cut to 15
`
	tb, err := Parse("recover.table", []byte(in))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if tb.Name != "recover" || tb.File != "recover.table" {
		t.Errorf("name, file: got %q, %q, want recover, recover.table", tb.Name, tb.File)
	}
	want := `vip 10.213.0.100/32 dev=eth0
vip 10.213.1.100/24 dev=eth1 label=eth1:web garp_count=0 garp_interval=10ms name=web-vip timeout=1s
cmd name=web timeout=5s start='/usr/sbin/websvc start' stop='/usr/sbin/websvc stop' status='/usr/sbin/websvc status'
cmd name=z start=y stop=x
vip 10.213.2.100/32 dev=a-very-long-if
`
	if got := tb.String(); got != want {
		t.Errorf("String:\ngot  %s\nwant %s", got, want)
	}
	type row struct {
		kind    Kind
		name    string
		line    int
		timeout time.Duration
	}
	wantRows := []row{
		{KindVIP, "10.213.0.100", 2, 10 * time.Second},
		{KindVIP, "web-vip", 3, time.Second},
		{KindCmd, "web", 4, 5 * time.Second},
		{KindCmd, "z", 6, 10 * time.Second},
		{KindVIP, "10.213.2.100", 7, 10 * time.Second},
	}
	if len(tb.Entries) != len(wantRows) {
		t.Fatalf("entries: got %d, want %d", len(tb.Entries), len(wantRows))
	}
	for i, e := range tb.Entries {
		got := row{e.Kind(), e.Name(), e.Line(), e.Timeout()}
		if got != wantRows[i] {
			t.Errorf("entry %d: got %+v, want %+v", i, got, wantRows[i])
		}
	}
	wantVIPs := []VIP{
		{Dev: "eth0", Prefix: netip.MustParsePrefix("10.213.0.100/32"), Label: "eth0:ha", Line: 2},
		{Dev: "eth1", Prefix: netip.MustParsePrefix("10.213.1.100/24"), Label: "eth1:web", Line: 3},
		{Dev: "a-very-long-if", Prefix: netip.MustParsePrefix("10.213.2.100/32"), Label: "a-very-long-if", Line: 7},
	}
	gotVIPs := tb.VIPs()
	if len(gotVIPs) != len(wantVIPs) {
		t.Fatalf("VIPs: got %+v, want %+v", gotVIPs, wantVIPs)
	}
	for i := range gotVIPs {
		if gotVIPs[i] != wantVIPs[i] {
			t.Errorf("VIP %d: got %+v, want %+v", i, gotVIPs[i], wantVIPs[i])
		}
	}
	v := tb.Entries[0].(*vipEntry)
	if v.garpCount != DefaultGARPCount || v.garpInterval != DefaultGARPInterval {
		t.Errorf("garp defaults: got %d, %v, want %d, %v", v.garpCount, v.garpInterval, DefaultGARPCount, DefaultGARPInterval)
	}
}

// TestParseKinds parses one line of every kind and form and checks the
// canonical form, names and what the executor will get.
func TestParseKinds(t *testing.T) {
	in := `vip 2001:db8::100/128 dev=eth0
vip 2001:db8:1::100/64 dev=eth1 garp_count=5 garp_interval=100ms garp_refresh=30s name=v6b
vip 10.213.0.100/32 dev=eth0 garp_refresh=1m
service unit=nginx.service
service lsb=/etc/init.d/websvc timeout=30s
service unit=getty@tty1.service name=getty
ocf agent=heartbeat:Dummy name=dummy1 state=/run/had/dummy1.state
ocf agent=heartbeat:anything name=sleeper ocf_root=/opt/ocf binfile=/bin/sleep cmdline_options="30 # not a comment" reskey_name=x
tee listen=10.213.0.100:5000 to=10.213.0.1:5001,10.213.0.2:5001
tee listen=[2001:db8::100]:5000 to=[2001:db8::1]:5001 run_dir=/tmp/had bin=/usr/lib/had/had-tee name=tee6 timeout=3s
`
	tb, err := Parse("k.table", []byte(in))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := `vip 2001:db8::100/128 dev=eth0
vip 2001:db8:1::100/64 dev=eth1 garp_count=5 garp_interval=100ms garp_refresh=30s name=v6b
vip 10.213.0.100/32 dev=eth0 garp_refresh=1m0s
service unit=nginx.service
service lsb=/etc/init.d/websvc timeout=30s
service unit=getty@tty1.service name=getty
ocf agent=heartbeat:Dummy name=dummy1 state=/run/had/dummy1.state
ocf agent=heartbeat:anything name=sleeper ocf_root=/opt/ocf binfile=/bin/sleep cmdline_options='30 # not a comment' reskey_name=x
tee listen=10.213.0.100:5000 to=10.213.0.1:5001,10.213.0.2:5001
tee listen='[2001:db8::100]:5000' to='[2001:db8::1]:5001' run_dir=/tmp/had bin=/usr/lib/had/had-tee name=tee6 timeout=3s
`
	if got := tb.String(); got != want {
		t.Errorf("String:\ngot  %s\nwant %s", got, want)
	}
	type row struct {
		kind Kind
		name string
	}
	wantRows := []row{
		{KindVIP, "2001:db8::100"}, {KindVIP, "v6b"}, {KindVIP, "10.213.0.100"},
		{KindService, "nginx.service"}, {KindService, "websvc"}, {KindService, "getty"},
		{KindOCF, "dummy1"}, {KindOCF, "sleeper"},
		{KindTee, "tee:10.213.0.100:5000"}, {KindTee, "tee6"},
	}
	for i, e := range tb.Entries {
		if got := (row{e.Kind(), e.Name()}); got != wantRows[i] {
			t.Errorf("entry %d: got %+v, want %+v", i, got, wantRows[i])
		}
	}
	wantVIPs := []VIP{
		{Dev: "eth0", Prefix: netip.MustParsePrefix("2001:db8::100/128"), Line: 1},
		{Dev: "eth1", Prefix: netip.MustParsePrefix("2001:db8:1::100/64"), Line: 2},
		{Dev: "eth0", Prefix: netip.MustParsePrefix("10.213.0.100/32"), Label: "eth0:ha", Line: 3},
	}
	if got := tb.VIPs(); !slices.Equal(got, wantVIPs) {
		t.Errorf("VIPs: got %+v, want %+v", got, wantVIPs)
	}
	if _, ok := tb.Entries[6].(Monitorer); !ok {
		t.Errorf("ocf entry: not a Monitorer")
	}
	tee := tb.Entries[9].(*teeEntry)
	if got, want := tee.pidFile(), "/tmp/had/had-tee-tee6.pid"; got != want {
		t.Errorf("pid file: got %s, want %s", got, want)
	}
	if got, want := tee.args(), []string{"--listen", "[2001:db8::100]:5000", "--to", "[2001:db8::1]:5001", "--pidfile", "/tmp/had/had-tee-tee6.pid", "--ready-fd", "3"}; !slices.Equal(got, want) {
		t.Errorf("had-tee arguments: got %q, want %q", got, want)
	}
}

func TestParseEmpty(t *testing.T) {
	tb, err := Parse("t.table", []byte("# nothing here\n"))
	if err != nil || len(tb.Entries) != 0 {
		t.Fatalf("got %v, %v, want an empty table", tb, err)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // each error, without the "f:" prefix
	}{
		{"unknown kind", "foo x=y", []string{`1: kind: unknown kind "foo" (want cmd, ocf, service, tee, vip)`}},
		{"option first", "dev=eth0 vip", []string{"1: kind: a line starts with its kind (cmd, ocf, service, tee, vip), not with an option"}},
		{"syntax", `vip 10.0.0.1/32 dev="eth0`, []string{"1: syntax: unterminated double quote"}},
		{"bad option name", "vip 10.0.0.1/32 dev=eth0 Dev=x", []string{`1: syntax: bad option name "Dev" (want key=value with a lower-case key)`}},
		{"option twice", "vip 10.0.0.1/32 dev=eth0 dev=eth1", []string{"1: dev: given twice"}},
		{"unknown option", "vip 10.0.0.1/32 dev=eth0 mtu=1500", []string{"1: mtu: unknown option for vip"}},
		{"no address", "vip dev=eth0", []string{"1: address: missing: want an address with its prefix length, e.g. 10.213.0.100/32 or 2001:db8::100/128"}},
		{"two addresses", "vip 10.0.0.1/32 10.0.0.2/32 dev=eth0", []string{`1: address: want one address, got 2 arguments: ["10.0.0.1/32" "10.0.0.2/32"]`}},
		{"no prefix", "vip 10.0.0.1 dev=eth0", []string{`1: address: "10.0.0.1" has no prefix length (e.g. 10.0.0.1/32; /32 is advised)`}},
		{"bad address", "vip 10.0.0/32 dev=eth0", []string{`1: address: "10.0.0/32" is not an address with a prefix length, e.g. 10.213.0.100/32 or 2001:db8::100/128`}},
		{"prefix too long", "vip 10.0.0.1/33 dev=eth0", []string{`1: address: "10.0.0.1/33" is not an address with a prefix length, e.g. 10.213.0.100/32 or 2001:db8::100/128`}},
		{"ipv6 label", "vip 2001:db8::1/128 dev=eth0 label=eth0:ha", []string{"1: label: IPv6 addresses have no label (labels are an IPv4 feature of the kernel)"}},
		{"ipv6 no prefix", "vip 2001:db8::1 dev=eth0", []string{`1: address: "2001:db8::1" has no prefix length (e.g. 2001:db8::1/128; /128 is advised)`}},
		{"ipv6 link-local", "vip fe80::1/128 dev=eth0", []string{"1: address: fe80::1/128 is link-local (fe80::/10): a virtual address must be routable"}},
		{"ipv6 multicast", "vip ff02::1/128 dev=eth0", []string{"1: address: ff02::1/128 is not a unicast address"}},
		{"ipv6 loopback", "vip ::1/128 dev=eth0", []string{"1: address: ::1/128 is not a unicast address"}},
		{"ipv6 unspecified", "vip ::/128 dev=eth0", []string{"1: address: ::/128 is not a unicast address"}},
		{"ipv6 anycast", "vip 2001:db8::/64 dev=eth0", []string{"1: address: 2001:db8::/64 is the subnet-router anycast address of its subnet"}},
		{"ipv6 zone", "vip fe80::1%eth0/128 dev=eth0", []string{`1: address: "fe80::1%eth0/128" is not an address with a prefix length, e.g. 10.213.0.100/32 or 2001:db8::100/128`}},
		{"ipv6 too long", "vip 2001:db8::1/129 dev=eth0", []string{`1: address: "2001:db8::1/129" is not an address with a prefix length, e.g. 10.213.0.100/32 or 2001:db8::100/128`}},
		{"ipv6 duplicate", "vip 2001:db8::1/128 dev=eth0\nvip 2001:db8::1/64 dev=eth1 name=b", []string{"2: address: duplicate virtual IP 2001:db8::1 (also on line 1)"}},
		{"garp_refresh short", "vip 10.0.0.1/32 dev=eth0 garp_refresh=500ms", []string{"1: garp_refresh: 500ms is out of range: 0 (off) or [1s, 24h0m0s]"}},
		{"garp_refresh long", "vip 10.0.0.1/32 dev=eth0 garp_refresh=25h", []string{"1: garp_refresh: 25h0m0s is out of range [0s, 24h0m0s]"}},
		{"service none", "service name=a", []string{"1: unit: required: unit=NAME.service (systemd) or lsb=/etc/init.d/SCRIPT"}},
		{"service both", "service unit=a.service lsb=/etc/init.d/a", []string{"1: unit: give unit= (systemd) or lsb= (init script), not both"}},
		{"service bad unit", "service unit='a b.service'", []string{`1: unit: "a b.service" is not a systemd unit name (letters, digits and :-_.\@)`}},
		{"service dash unit", "service unit=-x.service", []string{`1: unit: "-x.service" starts with '-' (systemctl would take it for an option)`}},
		{"service relative lsb", "service lsb=init.d/a", []string{`1: lsb: "init.d/a" is not a clean absolute path, e.g. /etc/init.d/websvc`}},
		{"service unclean lsb", "service lsb=/etc/init.d/../a", []string{`1: lsb: "/etc/init.d/../a" is not a clean absolute path, e.g. /etc/init.d/websvc`}},
		{"service unnamable", `service unit=a\\x2db.service`, []string{`1: name: required: "a\\x2db.service" is not a valid entry name (letters, digits and _.:@-, at most 64)`}},
		{"service argument", "service nginx", []string{`1: syntax: service takes only options, got arguments ["nginx"] (unit=… or lsb=…)`, "1: unit: required: unit=NAME.service (systemd) or lsb=/etc/init.d/SCRIPT"}},
		{"service unknown option", "service unit=a.service start=x", []string{"1: start: unknown option for service"}},
		{"ocf no name", "ocf agent=heartbeat:Dummy", []string{"1: name: required (it is OCF_RESOURCE_INSTANCE)"}},
		{"ocf no agent", "ocf name=a", []string{"1: agent: required"}},
		{"ocf bad agent", "ocf name=a agent=Dummy", []string{`1: agent: "Dummy" is not PROVIDER:TYPE, e.g. heartbeat:Dummy`}},
		{"ocf agent path", "ocf name=a agent=heartbeat:../x", []string{`1: agent: "heartbeat:../x" is not PROVIDER:TYPE, e.g. heartbeat:Dummy`}},
		{"ocf root", "ocf name=a agent=heartbeat:Dummy ocf_root=ocf", []string{`1: ocf_root: "ocf" is not a clean absolute path`}},
		{"ocf parameter twice", "ocf name=a agent=heartbeat:Dummy state=x reskey_state=y", []string{`1: reskey_state: parameter "state" given twice (also as state=)`}},
		{"ocf empty reskey", "ocf name=a agent=heartbeat:Dummy reskey_=y", []string{"1: reskey_: no parameter name after reskey_"}},
		{"ocf argument", "ocf heartbeat:Dummy name=a agent=heartbeat:Dummy", []string{`1: syntax: ocf takes only options, got arguments ["heartbeat:Dummy"] (agent=PROVIDER:TYPE …)`}},
		{"tee no listen", "tee to=10.0.0.1:1", []string{"1: listen: required"}},
		{"tee no to", "tee listen=10.0.0.100:1", []string{"1: to: required"}},
		{"tee bad listen", "tee listen=10.0.0.100 to=10.0.0.1:1", []string{`1: listen: "10.0.0.100" is not ADDRESS:PORT, e.g. 10.213.0.100:5000 or [2001:db8::100]:5000`}},
		{"tee port 0", "tee listen=10.0.0.100:0 to=10.0.0.1:1", []string{"1: listen: 10.0.0.100:0: port 0"}},
		{"tee multicast", "tee listen=239.0.0.1:5 to=10.0.0.1:1", []string{"1: listen: 239.0.0.1:5: a multicast listen address is not supported"}},
		{"tee unspecified to", "tee listen=10.0.0.100:5 to=0.0.0.0:1", []string{"1: to: 0.0.0.0:1: not a destination"}},
		{"tee to twice", "tee listen=10.0.0.100:5 to=10.0.0.1:1,10.0.0.1:1", []string{"1: to: 10.0.0.1:1 given twice"}},
		{"tee to itself", "tee listen=10.0.0.100:5 to=10.0.0.1:1,10.0.0.100:5", []string{"1: to: 10.0.0.100:5 is the listen address: the relay would feed itself"}},
		{"tee bad to", "tee listen=10.0.0.100:5 to=10.0.0.1:1,x", []string{`1: to: "x" is not ADDRESS:PORT, e.g. 10.213.0.100:5000 or [2001:db8::100]:5000`}},
		{"tee mapped", "tee listen=[::ffff:10.0.0.100]:5 to=10.0.0.1:1", []string{"1: listen: [::ffff:10.0.0.100]:5: write the IPv4 address as 10.0.0.100"}},
		{"tee run_dir", "tee listen=10.0.0.100:5 to=10.0.0.1:1 run_dir=run", []string{`1: run_dir: "run" is not a clean absolute path`}},
		{"tee bin", "tee listen=10.0.0.100:5 to=10.0.0.1:1 bin=had-tee", []string{`1: bin: "had-tee" is not a clean absolute path`}},
		{"tee before its vip", "tee listen=10.0.0.100:5 to=10.0.0.1:1\nvip 10.0.0.100/32 dev=eth0",
			[]string{"1: listen: 10.0.0.100 is the virtual IP of line 2: put the tee after it, so that it starts after the address and stops before it"}},
		{"mapped", "vip ::ffff:10.0.0.1/128 dev=eth0", []string{"1: address: ::ffff:10.0.0.1/128: write the IPv4 address as 10.0.0.1"}},
		{"prefix 0", "vip 10.0.0.1/0 dev=eth0", []string{"1: address: 10.0.0.1/0: prefix length 0"}},
		{"loopback", "vip 127.0.0.2/32 dev=eth0", []string{"1: address: 127.0.0.2/32 is not a unicast address"}},
		{"multicast", "vip 224.0.0.1/32 dev=eth0", []string{"1: address: 224.0.0.1/32 is not a unicast address"}},
		{"unspecified", "vip 0.0.0.0/32 dev=eth0", []string{"1: address: 0.0.0.0/32 is not a unicast address"}},
		{"network", "vip 10.0.0.0/24 dev=eth0", []string{"1: address: 10.0.0.0/24 is the network address of its subnet"}},
		{"broadcast", "vip 10.0.0.255/24 dev=eth0", []string{"1: address: 10.0.0.255/24 is the broadcast address of its subnet"}},
		{"no dev", "vip 10.0.0.1/32", []string{"1: dev: required"}},
		{"empty dev", "vip 10.0.0.1/32 dev=", []string{"1: dev: empty (leave the option out instead)"}},
		{"bad dev", "vip 10.0.0.1/32 dev=eth0:1", []string{`1: dev: "eth0:1" is not an interface name (1–15 characters, no '/', ':' or blanks)`}},
		{"long dev", "vip 10.0.0.1/32 dev=abcdefghijklmnop", []string{`1: dev: "abcdefghijklmnop" is not an interface name (1–15 characters, no '/', ':' or blanks)`}},
		{"long label", "vip 10.0.0.1/32 dev=eth0 label=eth0:abcdefghijk", []string{`1: label: "eth0:abcdefghijk" is longer than 15 characters`}},
		{"label prefix", "vip 10.0.0.1/32 dev=eth0 label=ha0", []string{`1: label: "ha0" must be the device name or start with "eth0:" (ip(8) requires it)`}},
		{"label blank", "vip 10.0.0.1/32 dev=eth0 label='eth0:a b'", []string{`1: label: "eth0:a b" contains a blank or '/'`}},
		{"garp_count", "vip 10.0.0.1/32 dev=eth0 garp_count=101", []string{"1: garp_count: 101 is out of range [0, 100]"}},
		{"garp_count word", "vip 10.0.0.1/32 dev=eth0 garp_count=three", []string{`1: garp_count: "three" is not a whole number`}},
		{"garp_interval", "vip 10.0.0.1/32 dev=eth0 garp_interval=5ms", []string{"1: garp_interval: 5ms is out of range [10ms, 1m0s]"}},
		{"interval unit", "vip 10.0.0.1/32 dev=eth0 garp_interval=200", []string{`1: garp_interval: "200" is not a duration with a unit, e.g. 500ms or 5s`}},
		{"timeout 0", "vip 10.0.0.1/32 dev=eth0 timeout=0s", []string{"1: timeout: 0s is out of range [1ms, 24h0m0s]"}},
		{"timeout negative", "cmd name=a start=x stop=y timeout=-1s", []string{"1: timeout: -1s is out of range [1ms, 24h0m0s]"}},
		{"bad name", "vip 10.0.0.1/32 dev=eth0 name=-x", []string{`1: name: "-x" is not a name (letters, digits and _.:@-, at most 64)`}},
		{"cmd no name", "cmd start=x stop=y", []string{"1: name: required"}},
		{"cmd no start", "cmd name=a stop=y", []string{"1: start: required"}},
		{"cmd blank stop", "cmd name=a start=x stop='  '", []string{"1: stop: empty (leave the option out instead)"}},
		{"cmd empty status", "cmd name=a start=x stop=y status=", []string{"1: status: empty (leave the option out instead)"}},
		{"cmd argument", "cmd name=a start=x stop=y /bin/true", []string{`1: syntax: cmd takes only options, got arguments ["/bin/true"] (quote commands: start="…")`}},
		{"cmd unquoted command", "cmd name=a start=/bin/x start stop=y", []string{`1: syntax: cmd takes only options, got arguments ["start"] (quote commands: start="…")`}},
		{"duplicate vip", "vip 10.0.0.1/32 dev=eth0\nvip 10.0.0.1/24 dev=eth1 name=other",
			[]string{"2: address: duplicate virtual IP 10.0.0.1 (also on line 1)"}},
		{"duplicate name", "cmd name=a start=x stop=y\n\ncmd name=a start=x stop=y",
			[]string{`3: name: duplicate name "a" (also on line 1)`}},
		{"vip name clash", "vip 10.0.0.1/32 dev=eth0\ncmd name=10.0.0.1 start=x stop=y",
			[]string{`2: name: duplicate name "10.0.0.1" (also on line 1)`}},
		{"every problem", "vip 10.0.0.1 dev=eth0 garp_count=-1\nbogus\ncmd name=a start=\"x\nvip 10.0.0.2/32",
			[]string{
				`1: address: "10.0.0.1" has no prefix length (e.g. 10.0.0.1/32; /32 is advised)`,
				"1: garp_count: -1 is out of range [0, 100]",
				`2: kind: unknown kind "bogus" (want cmd, ocf, service, tee, vip)`,
				"3: syntax: unterminated double quote",
				"4: dev: required",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb, err := Parse("f", []byte(tt.in))
			if tb != nil {
				t.Errorf("got a table, want none")
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("got %v, want Errors", err)
			}
			got := strings.Split(es.Error(), "\n")
			for i := range tt.want {
				tt.want[i] = "f:" + tt.want[i]
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "a.table", Line: 3, Field: "dev", Msg: "required"}, "a.table:3: dev: required"},
		{Error{File: "a.table", Msg: "too big"}, "a.table: too big"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestDefaultLabel(t *testing.T) {
	tests := []struct{ dev, want string }{
		{"eth0", "eth0:ha"},
		{"abcdefghijkl", "abcdefghijkl:ha"},  // 15
		{"abcdefghijklm", "abcdefghijklm:h"}, // cut
		{"abcdefghijklmn", "abcdefghijklmn"}, // a bare colon is dropped
		{"abcdefghijklmno", "abcdefghijklmno"},
	}
	for _, tt := range tests {
		if got := DefaultLabel(tt.dev); got != tt.want {
			t.Errorf("DefaultLabel(%q): got %q, want %q", tt.dev, got, tt.want)
		}
	}
}

func TestParseFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "takeover.table")
	if err := os.WriteFile(p, []byte("vip 10.213.0.100/32 dev=eth0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tb, err := ParseFile(p)
	if err != nil || tb.Name != "takeover" || len(tb.Entries) != 1 {
		t.Fatalf("got %v, %v, want the takeover table with one entry", tb, err)
	}
	if _, err := ParseFile(filepath.Join(dir, "missing.table")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want ErrNotExist", err)
	}
	big := filepath.Join(dir, "big.table")
	if err := os.WriteFile(big, make([]byte, maxFileSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseFile(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("big file: got %v, want a size error", err)
	}
}

// TestExamples parses the shipped example tables.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob("../deploy/examples/*.table")
	if err != nil || len(files) == 0 {
		t.Fatalf("glob: %v, %d files, want some", err, len(files))
	}
	for _, f := range files {
		tb, err := ParseFile(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if len(tb.Entries) == 0 {
			t.Errorf("%s: no entries", f)
		}
	}
}

// FuzzParse checks that Parse never panics, that every error points into
// the file, and that a table parses back from its canonical form.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"vip 10.213.0.100/32 dev=eth0 garp_count=3 garp_interval=200ms label=eth0:ha\n",
		`cmd name=web start="/usr/sbin/websvc start" stop="/usr/sbin/websvc stop" status="x" timeout=5s` + "\n",
		"vip 10.0.0.1 dev=eth0\nbogus\ncmd name=a start=\"x\n",
		"vip 10.0.0.1/32 dev=eth0\nvip 10.0.0.1/32 dev=eth1\n",
		"vip 10.0.0.1/24 dev=eth0 name=a timeout=1m30s garp_count=0\n",
		"vip 2001:db8::100/128 dev=eth0 garp_refresh=30s\n",
		"service unit=nginx.service\nservice lsb=/etc/init.d/websvc name=w timeout=3s\n",
		"ocf agent=heartbeat:Dummy name=d state=/tmp/x reskey_name='a b'\n",
		"tee listen=10.0.0.100:5000 to=10.0.0.1:5001,[2001:db8::1]:5001 run_dir=/tmp bin=/x/had-tee\n",
		"vip 10.0.0.100/32 dev=eth0\ntee listen=10.0.0.100:5 to=10.0.0.1:1\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tb, err := Parse("f", data)
		if err != nil {
			n := strings.Count(string(data), "\n") + 1
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("got %T %v, want Errors", err, err)
			}
			for _, e := range es {
				if e.File != "f" || e.Line < 1 || e.Line > n || e.Msg == "" {
					t.Fatalf("bad error %+v for a %d-line input", e, n)
				}
			}
			return
		}
		text := tb.String()
		again, err := Parse("f", []byte(text))
		if err != nil {
			t.Fatalf("canonical form %q does not parse: %v", text, err)
		}
		if again.String() != text {
			t.Fatalf("canonical form changed:\n%s\n%s", text, again.String())
		}
	})
}
