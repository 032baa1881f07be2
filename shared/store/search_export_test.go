package store

// SetRareMatches lets tests force either search plan; it returns the undo.
func SetRareMatches(n float64) func() {
	old := rareMatches
	rareMatches = n
	return func() { rareMatches = old }
}
