package kv

// OpenCluster exposes openCluster to the external tests.
var OpenCluster = openCluster
