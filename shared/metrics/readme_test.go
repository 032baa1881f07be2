package metrics

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// README's metrics table lists every ari_ metric this package registers, and
// no other.
func TestREADMEListsEveryMetric(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(ari_[a-z_]+)` \\|").FindAllStringSubmatch(string(readme), -1) {
		documented[m[1]] = true
	}
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	var names []string
	for _, c := range ours {
		ch := make(chan *prometheus.Desc, 16)
		c.Describe(ch)
		close(ch)
		for d := range ch {
			names = append(names, fqName.FindStringSubmatch(d.String())[1])
		}
	}
	if len(names) < 4 {
		t.Fatalf("only %d metrics registered", len(names))
	}
	for _, n := range names {
		if !strings.HasPrefix(n, "ari_") {
			t.Errorf("%s is not prefixed ari_", n)
		}
		if !documented[n] {
			t.Errorf("README's metrics table does not list %s", n)
		}
		delete(documented, n)
	}
	for n := range documented {
		if !slices.Contains(names, n) {
			t.Errorf("README lists %s, which is not registered", n)
		}
	}
}
