package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/ari-chat/ari-server/shared/mailcatch"
)

// mailcatcher is `local mailcatcher [-addr host:port] [-dir folder]`: a
// loopback SMTP server that keeps every mail in the folder (n.eml raw, n.txt
// readable, links clickable) and prints a line per mail, so `make local`
// needs no real mail account. It runs until ctx ends.
func mailcatcher(ctx context.Context, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("mailcatcher", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:2525", "SMTP listen address (loopback)")
	dir := fs.String("dir", ".local/dev/mail", "folder for received mails")
	if err := fs.Parse(args); err != nil {
		return err
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	c, err := mailcatch.Start(mailcatch.Options{Addr: *addr, Dir: abs, OnMail: func(n int, m mailcatch.Mail) {
		fmt.Fprintf(out, "mail %04d to %v: %s (%s)\n", n, m.To, m.Subject, filepath.Join(abs, fmt.Sprintf("%04d.txt", n)))
	}})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "mail catcher: smtp://%s, mails in %s\n", c.Addr, abs)
	<-ctx.Done()
	return c.Close()
}
