package config

import (
	"bufio"
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestEnvExampleListsEveryVariable keeps .env.example true: every variable the
// Config reads is documented there, with its default, and nothing else is.
func TestEnvExampleListsEveryVariable(t *testing.T) {
	f, err := os.Open("../../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	documented := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		documented[k] = v
	}
	typ := reflect.TypeOf(Config{})
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		name := strings.Split(f.Tag.Get("env"), ",")[0]
		v, ok := documented[name]
		if !ok {
			t.Errorf(".env.example does not document %s", name)
			continue
		}
		if def := f.Tag.Get("envDefault"); v != def {
			t.Errorf(".env.example says %s=%q but the default is %q", name, v, def)
		}
		delete(documented, name)
	}
	for k := range documented {
		t.Errorf(".env.example documents %s, which nothing reads", k)
	}
}
