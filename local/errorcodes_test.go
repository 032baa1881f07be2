package main

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/functions/docs"
)

// TestOpenAPIListsEveryErrorCode fails when a function or shared/ari declares
// an error code (a constant of type ari.Code) that the OpenAPI document's
// Error schema does not list: clients written from the document switch on
// that enum. Codes are found in the source, so a new one cannot be missed.
func TestOpenAPIListsEveryErrorCode(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas struct {
				Error struct {
					Properties struct {
						Error struct {
							Properties struct {
								Code struct {
									Enum []string `json:"enum"`
								} `json:"code"`
							} `json:"properties"`
						} `json:"error"`
					} `json:"properties"`
				} `json:"Error"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(docs.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, c := range doc.Components.Schemas.Error.Properties.Error.Properties.Code.Enum {
		listed[c] = true
	}
	if len(listed) == 0 {
		t.Fatal("the Error schema lists no codes")
	}
	found := map[string]string{}
	for _, root := range []string{"../functions", "../shared/ari"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
			if err != nil {
				return err
			}
			for code := range codeConsts(f) {
				found[code] = path
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(found) < 12 {
		t.Fatalf("found only %d codes in the source: the scan is broken", len(found))
	}
	for code, path := range found {
		if !listed[code] {
			t.Errorf("%s declares error code %q; functions/docs/openapi.json's Error.code enum does not list it", path, code)
		}
	}
}

// codeConsts yields the string values of constants typed ari.Code (or Code
// inside package ari).
func codeConsts(f *ast.File) map[string]bool {
	out := map[string]bool{}
	for _, decl := range f.Decls {
		g, ok := decl.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			v := spec.(*ast.ValueSpec)
			if !isCodeType(v.Type, f.Name.Name) {
				continue
			}
			for _, val := range v.Values {
				if lit, ok := val.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil {
						out[s] = true
					}
				}
			}
		}
	}
	return out
}

func isCodeType(e ast.Expr, pkg string) bool {
	switch x := e.(type) {
	case *ast.Ident:
		return pkg == "ari" && x.Name == "Code"
	case *ast.SelectorExpr:
		id, ok := x.X.(*ast.Ident)
		return ok && id.Name == "ari" && x.Sel.Name == "Code"
	}
	return false
}
