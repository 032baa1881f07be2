package main

import (
	"context"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/platform"
	"github.com/ari-chat/ari-server/shared/testenv"
	"gopkg.in/yaml.v3"
)

type samTemplate struct {
	Resources map[string]struct {
		Type     string `yaml:"Type"`
		Metadata struct {
			BuildMethod string `yaml:"BuildMethod"`
		} `yaml:"Metadata"`
		Properties struct {
			CodeUri string `yaml:"CodeUri"`
			Events  map[string]struct {
				Type       string `yaml:"Type"`
				Properties struct {
					Method string `yaml:"Method"`
					Path   string `yaml:"Path"`
				} `yaml:"Properties"`
			} `yaml:"Events"`
		} `yaml:"Properties"`
	} `yaml:"Resources"`
}

// samRoutes reads template.yaml: function folder name -> "METHOD /path" routes.
func samRoutes(t *testing.T) map[string][]string {
	t.Helper()
	raw, err := os.ReadFile("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tpl samTemplate
	if err := yaml.Unmarshal(raw, &tpl); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	out := map[string][]string{}
	for id, r := range tpl.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		name, ok := strings.CutSuffix(id, "Function")
		if !ok {
			t.Errorf("template.yaml: function %s must be named <Folder>Function", id)
			continue
		}
		if r.Metadata.BuildMethod != "makefile" || r.Properties.CodeUri != "." {
			t.Errorf("template.yaml: %s must use BuildMethod makefile and CodeUri .", id)
		}
		name = strings.ToLower(name)
		out[name] = []string{}
		for _, ev := range r.Properties.Events {
			if ev.Type != "HttpApi" {
				continue
			}
			out[name] = append(out[name], strings.ToUpper(ev.Properties.Method)+" "+ev.Properties.Path)
		}
		sort.Strings(out[name])
	}
	return out
}

// goRoutes turns a router's stdlib patterns into SAM's notation.
func goRoutes(r *httpx.Router) []string {
	var out []string
	for _, p := range r.Patterns() {
		m, path := httpx.SplitPattern(p)
		if m == "" {
			m = "ANY"
		}
		// "{rest...}" is SAM's greedy "{rest+}"; a trailing "{$}" is an exact match.
		path = strings.TrimSuffix(path, "{$}")
		var segs []string
		for _, s := range strings.Split(path, "/") {
			if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "...}") {
				s = strings.TrimSuffix(s, "...}") + "+}"
			}
			segs = append(segs, s)
		}
		out = append(out, m+" "+strings.Join(segs, "/"))
	}
	sort.Strings(out)
	return out
}

func TestTemplateMatchesFunctions(t *testing.T) {
	dirs, err := os.ReadDir("../functions")
	if err != nil {
		t.Fatal(err)
	}
	var folders []string
	for _, d := range dirs {
		if d.IsDir() {
			folders = append(folders, d.Name())
			if _, err := os.Stat("../functions/" + d.Name() + "/lambda/main.go"); err != nil {
				t.Errorf("functions/%s has no lambda/main.go entrypoint", d.Name())
			}
		}
	}
	var listed []string
	for _, f := range functions {
		listed = append(listed, f.Name)
	}
	sam := samRoutes(t)
	var declared []string
	for name := range sam {
		declared = append(declared, name)
	}
	sort.Strings(folders)
	sort.Strings(listed)
	sort.Strings(declared)
	if !slices.Equal(folders, listed) {
		t.Errorf("functions/ folders %v != local/functions.go %v", folders, listed)
	}
	if !slices.Equal(folders, declared) {
		t.Errorf("functions/ folders %v != template.yaml functions %v", folders, declared)
	}

	p := testPlatform(t)
	for _, f := range functions {
		got := goRoutes(f.Build(p))
		want, ok := sam[f.Name]
		if !ok {
			continue
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: handler registers %v\n template.yaml declares %v", f.Name, got, want)
		}
	}
}

// testPlatform builds a platform on the test services (handlers are only
// constructed here, never called).
func testPlatform(t *testing.T) *platform.Platform {
	t.Helper()
	p, err := platform.FromConfig(context.Background(), testenv.Config(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// TestTemplateCORS checks that the HTTP API answers preflights for the trusted
// origins with exactly the CORS options the functions use (API Gateway
// replaces the functions' own CORS headers when it has a configuration).
func TestTemplateCORS(t *testing.T) {
	raw, err := os.ReadFile("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	get := func(n *yaml.Node, path ...string) *yaml.Node {
		t.Helper()
		for _, k := range path {
			if n.Kind == yaml.DocumentNode {
				n = n.Content[0]
			}
			var next *yaml.Node
			for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == k {
					next = n.Content[i+1]
				}
			}
			if next == nil {
				t.Fatalf("template.yaml: no %v", path)
			}
			n = next
		}
		return n
	}
	scalars := func(n *yaml.Node) []string {
		var out []string
		for _, c := range n.Content {
			out = append(out, c.Value)
		}
		return out
	}
	cond := get(&doc, "Conditions", "HasTrustedOrigins")
	if cond.Tag != "!Not" || cond.Content[0].Tag != "!Equals" || cond.Content[0].Content[0].Tag != "!Ref" ||
		cond.Content[0].Content[0].Value != "TrustedOrigins" || cond.Content[0].Content[1].Value != "" {
		t.Fatalf("HasTrustedOrigins must be TrustedOrigins != \"\"")
	}
	cors := get(&doc, "Resources", "HttpApi", "Properties", "CorsConfiguration")
	if cors.Tag != "!If" || len(cors.Content) != 3 || cors.Content[0].Value != "HasTrustedOrigins" ||
		cors.Content[2].Tag != "!Ref" || cors.Content[2].Value != "AWS::NoValue" {
		t.Fatalf("CorsConfiguration must be !If [HasTrustedOrigins, {...}, !Ref AWS::NoValue]")
	}
	c := cors.Content[1]
	origins := get(c, "AllowOrigins")
	if origins.Tag != "!Split" || origins.Content[0].Value != "," || origins.Content[1].Tag != "!Ref" ||
		origins.Content[1].Value != "TrustedOrigins" {
		t.Errorf("AllowOrigins must split the TrustedOrigins parameter")
	}
	if v := get(c, "AllowCredentials").Value; v != "true" {
		t.Errorf("AllowCredentials %q, want true (cookies)", v)
	}
	if got := scalars(get(c, "AllowMethods")); !slices.Equal(got, auth.CORSMethods) {
		t.Errorf("AllowMethods %v, functions use %v", got, auth.CORSMethods)
	}
	if got := scalars(get(c, "AllowHeaders")); !slices.Equal(got, auth.CORSHeaders) {
		t.Errorf("AllowHeaders %v, functions use %v", got, auth.CORSHeaders)
	}
	if got := scalars(get(c, "ExposeHeaders")); !slices.Equal(got, auth.CORSExposedHeaders) {
		t.Errorf("ExposeHeaders %v, functions use %v", got, auth.CORSExposedHeaders)
	}
	if got := get(c, "MaxAge").Value; got != strconv.Itoa(auth.PreflightMaxAge) {
		t.Errorf("MaxAge %s, functions use %d", got, auth.PreflightMaxAge)
	}
}
