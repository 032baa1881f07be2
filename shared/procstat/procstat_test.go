package procstat

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestCPUAndLoadAvg(t *testing.T) {
	before, err := CPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end); {
	}
	after, err := CPU(os.Getpid())
	if err != nil || after < before {
		t.Fatalf("CPU went from %s to %s (%v)", before, after, err)
	}
	if _, err := CPU(-1); err == nil {
		t.Fatal("no error for a process that does not exist")
	}
	if got := LoadAvg(); len(strings.Fields(got)) != 3 {
		t.Fatalf("LoadAvg() = %q, want three figures", got)
	}
}
