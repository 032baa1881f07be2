package protocol

// TicketAuth is the first frame of a client socket whose upgrade carried no
// session (a web app on another site): a ticket from POST
// /api/auth/socket-ticket. The relay answers auth_ok with the user, or
// auth_error and close 4001.
type TicketAuth struct {
	Ticket string `json:"ticket"`
}

// UserInfo identifies the user a ticket signed in (auth_ok on /ws).
type UserInfo struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (*TicketAuth) FrameType() string { return TypeAuth }
