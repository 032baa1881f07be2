package store

// SetGINMatchCost lets tests force either search plan (0: always the scoped
// GIN index; 1e12: the caller's history, once messages has statistics: on a
// table never analyzed the index is used whatever the cost, so a test that
// compares the plans analyzes first); it returns the undo.
func SetGINMatchCost(c float64) func() {
	old := ginMatchCost
	ginMatchCost = c
	return func() { ginMatchCost = old }
}
