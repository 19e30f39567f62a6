package tables_test

import "net/netip"

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
