package mailer

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
)

// Kind names a mail the server sends; each has templates/<kind>.txt (whose
// first line is "Subject: …") and templates/<kind>.html.
type Kind string

// The mails Ari sends.
const (
	VerifyEmail        Kind = "verify-email"
	ResetPassword      Kind = "reset-password"
	ChangeEmailConfirm Kind = "change-email-confirmation"
	DeleteAccount      Kind = "delete-account"
)

// Data fills a template.
type Data struct {
	// Name is the recipient's display name (may be empty).
	Name string
	// URL is the link the mail is about.
	URL string
	// ExpiresIn says how long the link works, in words ("1 hour").
	ExpiresIn string
	// NewEmail is the address an email change goes to.
	NewEmail string
}

//go:embed templates
var files embed.FS

var (
	textTemplates = texttemplate.Must(texttemplate.ParseFS(files, "templates/*.txt"))
	htmlTemplates = htmltemplate.Must(htmltemplate.ParseFS(files, "templates/*.html"))
)

// Render fills kind's templates for to. The HTML template escapes what it
// inserts; the text one inserts as is.
func Render(kind Kind, to string, d Data) (Message, error) {
	var txt, html bytes.Buffer
	if err := textTemplates.ExecuteTemplate(&txt, string(kind)+".txt", d); err != nil {
		return Message{}, fmt.Errorf("mailer: %s text: %w", kind, err)
	}
	if err := htmlTemplates.ExecuteTemplate(&html, string(kind)+".html", d); err != nil {
		return Message{}, fmt.Errorf("mailer: %s html: %w", kind, err)
	}
	first, rest, _ := strings.Cut(txt.String(), "\n")
	subject, ok := strings.CutPrefix(first, "Subject: ")
	if !ok {
		return Message{}, fmt.Errorf("mailer: %s.txt must start with a Subject: line", kind)
	}
	return Message{To: to, Subject: subject, Text: strings.TrimLeft(rest, "\n"), HTML: html.String()}, nil
}
