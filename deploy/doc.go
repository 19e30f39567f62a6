// Package deploy holds what installs and runs had on a server: the systemd
// unit (systemd/had.service), the LSB init script (init.d/had) and its
// settings (default/had), and the example configuration, key file and
// tables (examples/). `make install` lays them out; the test here checks
// that it does.
package deploy
