package store

// SetIndexShare lets tests force either search plan (0: the GIN index;
// +Inf: the caller's history); it returns the undo.
func SetIndexShare(x float64) func() {
	old := indexShare
	indexShare = x
	return func() { indexShare = old }
}
