package appbridge

import (
	"fmt"
	"regexp"
)

// Actor is who invokes an action.
type Actor string

const (
	ActorUser  Actor = "user"
	ActorAgent Actor = "agent"
)

func (a Actor) valid() bool { return a == ActorUser || a == ActorAgent }

// ControlMode says who may drive the app in a session. The agent always
// receives the app's events whatever the mode; the mode only governs who may
// invoke actions.
//
//	mode        user acts   agent acts   agent gets tools
//	user_only   yes         no           none
//	agent_only  no          yes          its allowed actions
//	shared      yes         yes          its allowed actions
//
// In every mode an action's own "actors" list (when present) narrows further:
// an actor the mode admits but the action does not list is refused with
// forbidden_by_manifest. An actor the mode excludes is refused with
// forbidden_by_mode, whatever the action lists.
type ControlMode string

const (
	// ModeUserOnly: the user drives; the agent watches (events only, no tools).
	ModeUserOnly ControlMode = "user_only"
	// ModeAgentOnly: the agent drives; the user watches and their actions are
	// refused (a client should render the app read-only).
	ModeAgentOnly ControlMode = "agent_only"
	// ModeShared: both drive, each limited by the action's "actors" list.
	ModeShared ControlMode = "shared"
)

// Valid reports whether m is one of the defined modes.
func (m ControlMode) Valid() bool {
	return m == ModeUserOnly || m == ModeAgentOnly || m == ModeShared
}

// admits reports whether the mode lets actor act at all.
func (m ControlMode) admits(a Actor) bool {
	switch m {
	case ModeUserOnly:
		return a == ActorUser
	case ModeAgentOnly:
		return a == ActorAgent
	case ModeShared:
		return a == ActorUser || a == ActorAgent
	}
	return false
}

// slugRe: app slugs become tool-name prefixes, so they must use only the
// characters every common tool-calling API accepts in a name.
var slugRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Session is an AppSession: one app version bound to one conversation. The
// caller loads it and the matching manifest (of AppVersionID) together.
type Session struct {
	ID             string      `json:"id"`
	ConversationID string      `json:"conversationId"`
	AppID          string      `json:"appId"`
	AppSlug        string      `json:"appSlug"`
	AppVersionID   string      `json:"appVersionId"`
	Mode           ControlMode `json:"mode"`
}

// Validate reports a session this package cannot work with: an unknown mode
// or a slug that cannot prefix a tool name.
func (s Session) Validate() error {
	if !s.Mode.Valid() {
		return newError(CodeInvalidSession, "", fmt.Sprintf("unknown control mode %s", quoteBounded(string(s.Mode), 32)))
	}
	if !slugRe.MatchString(s.AppSlug) {
		return newError(CodeInvalidSession, "", fmt.Sprintf("app slug %s must match [a-z0-9][a-z0-9-]{0,62}", quoteBounded(s.AppSlug, 80)))
	}
	return nil
}

// Permit decides whether actor may invoke the action in this mode, returning
// nil or an *Error coded forbidden_by_mode, forbidden_by_manifest,
// invalid_session or invalid_actor. The mode is checked before the action's
// own list, so the code names the outermost reason.
func Permit(mode ControlMode, actor Actor, action ActionSpec) error {
	if !mode.Valid() {
		return newError(CodeInvalidSession, "", fmt.Sprintf("unknown control mode %s", quoteBounded(string(mode), 32)))
	}
	if !actor.valid() {
		return newError(CodeInvalidActor, "", fmt.Sprintf("unknown actor %s", quoteBounded(string(actor), 32)))
	}
	if !mode.admits(actor) {
		return newError(CodeForbiddenByMode, "", fmt.Sprintf("the %s may not act in %s mode", actor, mode))
	}
	if !action.allows(actor) {
		return newError(CodeForbiddenByManifest, "", fmt.Sprintf("action %q may not be invoked by the %s", action.Name, actor))
	}
	return nil
}

// Allowed lists the manifest's actions that actor may invoke in this
// session, in manifest order; a client can use it to enable controls. It is
// empty when the session is invalid.
func Allowed(s Session, m Manifest, actor Actor) []ActionSpec {
	if s.Validate() != nil {
		return nil
	}
	var out []ActionSpec
	for _, a := range m.Actions {
		if Permit(s.Mode, actor, a) == nil {
			out = append(out, a)
		}
	}
	return out
}

// ValidSlug reports whether s can name an app (and prefix its tools):
// [a-z0-9][a-z0-9-]{0,62}.
func ValidSlug(s string) bool { return slugRe.MatchString(s) }
