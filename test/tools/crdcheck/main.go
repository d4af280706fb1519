// crdcheck runs Kubernetes' own apiextensions validation over CustomResourceDefinitions, the code
// an API server runs when the CRDs are created, and validates sample objects against their schemas.
//
//	crdcheck CRDS.yaml                 validate every CRD in the stream
//	crdcheck CRDS.yaml OBJECTS.yaml    also validate each object; an object annotated
//	                                   crdcheck.meshctl.io/expect: invalid must be refused
package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apivalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	schemavalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/runtime"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

func splitDocs(data []byte) [][]byte {
	var docs [][]byte
	for _, d := range bytes.Split(append([]byte("\n"), data...), []byte("\n---")) {
		if len(bytes.TrimSpace(d)) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

type versionCheck struct {
	schema     schemavalidation.SchemaValidator
	structural *structuralschema.Structural
	cel        *cel.Validator // nil when the version has no x-kubernetes-validations
}

type checked struct {
	crd      *apiextensions.CustomResourceDefinition
	versions map[string]versionCheck
}

func loadCRDs(path string) (map[string]checked, int) {
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	scheme := runtime.NewScheme()
	if err := apiextensions.AddToScheme(scheme); err != nil {
		panic(err)
	}
	if err := apiextv1.AddToScheme(scheme); err != nil {
		panic(err)
	}
	failures := 0
	byKind := map[string]checked{}
	for i, doc := range splitDocs(data) {
		var v1 apiextv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(doc, &v1); err != nil {
			fmt.Printf("document %d: %v\n", i+1, err)
			failures++
			continue
		}
		scheme.Default(&v1)
		internal := &apiextensions.CustomResourceDefinition{}
		if err := scheme.Convert(&v1, internal, nil); err != nil {
			fmt.Printf("%s: convert: %v\n", v1.Name, err)
			failures++
			continue
		}
		errs := apivalidation.ValidateCustomResourceDefinition(context.Background(), internal)
		for _, e := range errs {
			fmt.Printf("%s: %v\n", v1.Name, e)
		}
		failures += len(errs)
		c := checked{crd: internal, versions: map[string]versionCheck{}}
		for _, ver := range internal.Spec.Versions {
			s := ver.Schema
			if s == nil {
				s = internal.Spec.Validation
			}
			if s == nil || s.OpenAPIV3Schema == nil {
				fmt.Printf("%s/%s: no schema\n", v1.Name, ver.Name)
				failures++
				continue
			}
			structural, err := structuralschema.NewStructural(s.OpenAPIV3Schema)
			if err != nil {
				fmt.Printf("%s/%s: not structural: %v\n", v1.Name, ver.Name, err)
				failures++
				continue
			}
			validator, _, err := schemavalidation.NewSchemaValidator(s.OpenAPIV3Schema)
			if err != nil {
				fmt.Printf("%s/%s: schema: %v\n", v1.Name, ver.Name, err)
				failures++
				continue
			}
			c.versions[ver.Name] = versionCheck{
				schema:     validator,
				structural: structural,
				cel:        cel.NewValidator(structural, true, celconfig.PerCallLimit),
			}
		}
		byKind[internal.Spec.Group+"/"+internal.Spec.Names.Kind] = c
		fmt.Printf("ok %s\n", v1.Name)
	}
	return byKind, failures
}

func main() {
	if len(os.Args) < 2 || len(os.Args) > 3 {
		fmt.Fprintln(os.Stderr, "usage: crdcheck CRDS.yaml [OBJECTS.yaml]")
		os.Exit(2)
	}
	crds, failures := loadCRDs(os.Args[1])
	if len(os.Args) == 3 {
		data, err := os.ReadFile(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		for i, doc := range splitDocs(data) {
			// Decoded as the API server decodes a request body: integers as int64.
			var obj map[string]interface{}
			asJSON, err := yaml.YAMLToJSON(doc)
			if err == nil {
				err = utiljson.Unmarshal(asJSON, &obj)
			}
			if err != nil {
				fmt.Printf("object %d: %v\n", i+1, err)
				failures++
				continue
			}
			apiVersion, _ := obj["apiVersion"].(string)
			kind, _ := obj["kind"].(string)
			group, version, _ := strings.Cut(apiVersion, "/")
			meta, _ := obj["metadata"].(map[string]interface{})
			name, _ := meta["name"].(string)
			expectInvalid := false
			if ann, ok := meta["annotations"].(map[string]interface{}); ok {
				expectInvalid = ann["crdcheck.meshctl.io/expect"] == "invalid"
			}
			c, ok := crds[group+"/"+kind]
			check, served := c.versions[version]
			if !ok || !served {
				fmt.Printf("object %d %s %q: no CRD serves %s\n", i+1, kind, name, apiVersion)
				failures++
				continue
			}
			// What the API server runs on create: the OpenAPI schema, then the CEL rules.
			errs := schemavalidation.ValidateCustomResource(field.NewPath(""), obj, check.schema)
			if check.cel != nil {
				celErrs, _ := check.cel.Validate(context.Background(), field.NewPath(""), check.structural, obj, nil,
					celconfig.RuntimeCELCostBudget)
				errs = append(errs, celErrs...)
			}
			switch {
			case expectInvalid && len(errs) == 0:
				fmt.Printf("object %d %s %q: accepted, but should be refused\n", i+1, kind, name)
				failures++
			case !expectInvalid && len(errs) > 0:
				fmt.Printf("object %d %s %q: refused: %v\n", i+1, kind, name, errs.ToAggregate())
				failures++
			case expectInvalid:
				fmt.Printf("ok object %s %q refused: %v\n", kind, name, errs.ToAggregate())
			default:
				fmt.Printf("ok object %s %q\n", kind, name)
			}
		}
	}
	if failures > 0 {
		fmt.Printf("%d problems\n", failures)
		os.Exit(1)
	}
}
