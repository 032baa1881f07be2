// Package storage keeps uploaded files behind one small interface, Store,
// with two implementations that behave the same way:
//
//   - S3 speaks to any S3-compatible service through aws-sdk-go-v2:
//     Cloudflare R2 (by account id), AWS S3, or any endpoint, optionally with
//     path-style addressing. The client is built from explicit options only,
//     so nothing is read from ~/.aws, the environment or instance metadata.
//   - Local keeps objects in a directory (the default for `make local`) and
//     hands out HMAC-signed URLs that LocalHandler serves, so presigned
//     uploads and downloads work the same way against the local shim.
//
// Keys are chosen by the server, never taken from a client: ValidKey allows
// only [A-Za-z0-9/_.-], no empty segment, no segment starting with a dot
// (which rules out "." and ".."), no leading or trailing slash, at most
// MaxKeyLen bytes. Both implementations enforce it.
//
// What a file is gets decided by its bytes, not its name: see the sniff
// sub-package for the allowed types.
package storage
