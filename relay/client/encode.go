package client

import "encoding/json"

// encodeEvent renders a shared/events envelope: clients receive it as is.
func encodeEvent(v any) ([]byte, error) { return json.Marshal(v) }
