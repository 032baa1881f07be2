package main

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/functions/docs"
	"github.com/ari-chat/ari-server/shared/httpx"
)

type openAPIDoc struct {
	OpenAPI    string                                 `json:"openapi"`
	Paths      map[string]map[string]openAPIOperation `json:"paths"`
	Components struct {
		Schemas map[string]json.RawMessage `json:"schemas"`
	} `json:"components"`
}

type openAPIOperation struct {
	OperationID string `json:"operationId"`
	Parameters  []struct {
		Name string `json:"name"`
		In   string `json:"in"`
	} `json:"parameters"`
	Responses map[string]json.RawMessage `json:"responses"`
}

var openAPIMethods = []string{"get", "put", "post", "delete", "patch", "head", "options"}

// openAPIPath turns a stdlib pattern path into OpenAPI's: "{rest...}" is a
// plain "{rest}" (documented as spanning segments) and "{$}" goes.
func openAPIPath(p string) string {
	p = strings.TrimSuffix(p, "{$}")
	return regexp.MustCompile(`\{([A-Za-z0-9_]+)\.\.\.\}`).ReplaceAllString(p, "{$1}")
}

// TestOpenAPIDescribesEveryRoute fails when a function registers a route that
// functions/docs/openapi.json does not describe, or the document describes a
// route no function serves.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	var doc openAPIDoc
	if err := json.Unmarshal(docs.OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi.json is %q, want 3.1.0", doc.OpenAPI)
	}
	p := testPlatform(t)
	served := map[string]bool{}    // "get /path"
	anyMethod := map[string]bool{} // paths served for every method
	for _, f := range functions {
		for _, pattern := range f.Build(p).Patterns() {
			m, path := httpx.SplitPattern(pattern)
			path = openAPIPath(path)
			if m == "" {
				anyMethod[path] = true
				if len(doc.Paths[path]) == 0 {
					t.Errorf("%s: route %q (any method) is missing from openapi.json", f.Name, pattern)
				}
				continue
			}
			m = strings.ToLower(m)
			served[m+" "+path] = true
			if _, ok := doc.Paths[path][m]; !ok {
				t.Errorf("%s: route %q is missing from openapi.json", f.Name, pattern)
			}
		}
	}
	var documented []string
	for path, ops := range doc.Paths {
		for m := range ops {
			documented = append(documented, m+" "+path)
		}
	}
	sort.Strings(documented)
	for _, op := range documented {
		m, path, _ := strings.Cut(op, " ")
		if !served[op] && !anyMethod[path] {
			t.Errorf("openapi.json describes %s %s, which no function serves", strings.ToUpper(m), path)
		}
	}
}

// TestOpenAPIDocumentIsConsistent checks what a client generator relies on:
// known methods, unique operation ids, every path parameter declared, at
// least one response, and every $ref resolving.
func TestOpenAPIDocumentIsConsistent(t *testing.T) {
	var doc openAPIDoc
	if err := json.Unmarshal(docs.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	param := regexp.MustCompile(`\{([^}]+)\}`)
	for path, ops := range doc.Paths {
		for m, op := range ops {
			where := strings.ToUpper(m) + " " + path
			if !contains(openAPIMethods, m) {
				t.Errorf("%s: unknown method", where)
			}
			if op.OperationID == "" {
				t.Errorf("%s: no operationId", where)
			} else if other, dup := ids[op.OperationID]; dup {
				t.Errorf("%s: operationId %s also used by %s", where, op.OperationID, other)
			}
			ids[op.OperationID] = where
			if len(op.Responses) == 0 {
				t.Errorf("%s: no responses", where)
			}
			for _, pm := range param.FindAllStringSubmatch(path, -1) {
				found := false
				for _, prm := range op.Parameters {
					found = found || (prm.In == "path" && prm.Name == pm[1])
				}
				if !found {
					t.Errorf("%s: path parameter %s is not declared", where, pm[1])
				}
			}
		}
	}
	refs := regexp.MustCompile(`"\$ref":\s*"#/components/schemas/([^"]+)"`).FindAllStringSubmatch(string(docs.OpenAPI), -1)
	if len(refs) == 0 {
		t.Fatal("no schema references at all")
	}
	for _, r := range refs {
		if _, ok := doc.Components.Schemas[r[1]]; !ok {
			t.Errorf("$ref to unknown schema %s", r[1])
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
