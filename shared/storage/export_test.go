package storage

// RunStoreSuite lets the external test package (which can import
// storagetest without an import cycle) run the shared behaviour suite.
var RunStoreSuite = runStoreSuite

// Pattern is a deterministic, non-seekable body of n bytes.
var Pattern = pattern
