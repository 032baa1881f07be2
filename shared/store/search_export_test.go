package store

// SetGINMatchCost lets tests force either search plan (0: always the scoped
// GIN index; 1e12: always the caller's history); it returns the undo.
func SetGINMatchCost(c float64) func() {
	old := ginMatchCost
	ginMatchCost = c
	return func() { ginMatchCost = old }
}
