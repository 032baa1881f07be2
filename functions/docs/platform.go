package docs

import "github.com/ari-chat/ari-server/shared/platform"

// DepsFrom builds Deps from the process's platform. The document is embedded,
// so nothing is taken from it; the function exists so every function is
// built the same way.
func DepsFrom(*platform.Platform) Deps { return Deps{} }
