package tables

import "github.com/hadcluster/had/fileerr"

// Error is one problem found in a table file; Field is the option,
// "kind", "address", "syntax"…
type Error = fileerr.Error

// Errors is every problem found in one table file, in line order.
type Errors = fileerr.Errors
