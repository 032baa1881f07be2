package docs

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/ari"
)

// The README describes a2aAuthHeader with the OpenAPI document's own words,
// and the document's bound is the one the agents API enforces.
func TestA2AAuthHeaderReadsTheSameInTheREADME(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Description string `json:"description"`
					MaxLength   int    `json:"maxLength"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const marker = "`a2aAuthHeader` (the same text as in the OpenAPI document): "
	_, rest, ok := strings.Cut(string(readme), marker)
	if !ok {
		t.Fatalf("README has no %q", marker)
	}
	para, _, _ := strings.Cut(rest, "\n- ") // to the next bullet
	para, _, _ = strings.Cut(para, "\n  A 401/403")
	inREADME := strings.Join(strings.Fields(para), " ")
	for _, schema := range []string{"AgentInput", "AgentUpdate"} {
		p, ok := doc.Components.Schemas[schema].Properties["a2aAuthHeader"]
		if !ok {
			t.Fatalf("%s has no a2aAuthHeader", schema)
		}
		if p.Description != inREADME {
			t.Errorf("%s.a2aAuthHeader says\n%q\nthe README says\n%q", schema, p.Description, inREADME)
		}
		if p.MaxLength != ari.MaxA2AAuthHeader {
			t.Errorf("%s.a2aAuthHeader maxLength %d, the API allows %d", schema, p.MaxLength, ari.MaxA2AAuthHeader)
		}
	}
}
