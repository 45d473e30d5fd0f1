// Command crds judges custom resources the way the Kubernetes API server does: against the
// CustomResourceDefinition that serves their kind, with the apiextensions-apiserver code of
// Kubernetes 1.33 (k8s.io/apiextensions-apiserver v0.33.3) — strict field validation (a field the
// structural schema does not declare is refused, as `kubectl apply` asks by default), defaulting,
// the OpenAPI schema, embedded ObjectMeta, list-type invariants and the CRD's CEL rules
// (x-kubernetes-validations), on create and on a re-apply of the same object. ScyllaClusters then
// also go through Scylla Operator's admission webhook code (ValidateScyllaCluster at v1.18.0).
//
//	crds -crds DIR file.yaml ...
//
// DIR holds the CRD files (build.sh copies them from the pinned modules). Prints one JSON line per
// object ({"file","kind","name","crd","celRules","errors"}; objects of kinds no CRD serves are listed
// with "skipped": true) and exits 1 when any object is refused.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structurallisttype "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	celconfig "k8s.io/apiserver/pkg/apis/cel"

	scyllav1 "github.com/scylladb/scylla-operator/pkg/api/scylla/v1"
	scyllavalidation "github.com/scylladb/scylla-operator/pkg/api/scylla/validation"
)

type verdict struct {
	File     string   `json:"file"`
	Kind     string   `json:"kind"`
	Name     string   `json:"name"`
	CRD      string   `json:"crd,omitempty"`
	CELRules int      `json:"celRules,omitempty"`
	Skipped  bool     `json:"skipped,omitempty"`
	Errors   []string `json:"errors"`
}

// served is one version of a CRD, prepared as the API server's customresource_handler.go
// (crdHandler.getOrCreateServingInfoFor) prepares it.
type served struct {
	crd             string
	namespaced      bool
	structural      *structuralschema.Structural
	schemaValidator apiservervalidation.SchemaValidator
	cel             *cel.Validator
	celRules        int
}

func main() {
	dir := flag.String("crds", "", "directory of CustomResourceDefinition files")
	flag.Parse()
	if *dir == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: crds -crds DIR file.yaml ...")
		os.Exit(2)
	}
	kinds, err := load(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crds:", err)
		os.Exit(2)
	}
	ctx := context.Background()
	var verdicts []verdict
	for _, file := range flag.Args() {
		all, err := objects(file)
		if err != nil {
			fmt.Fprintln(os.Stderr, "crds:", err)
			os.Exit(2)
		}
		for _, object := range all {
			verdicts = append(verdicts, judge(ctx, kinds, file, object))
		}
	}
	os.Exit(report(verdicts))
}

// report prints the verdicts as JSON lines; the exit status is 1 when any object was refused.
func report(verdicts []verdict) int {
	status := 0
	out := json.NewEncoder(os.Stdout)
	for _, v := range verdicts {
		if len(v.Errors) > 0 {
			status = 1
		}
		if err := out.Encode(v); err != nil {
			panic(err)
		}
	}
	return status
}

func load(dir string) (map[schema.GroupVersionKind]*served, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	kinds := map[schema.GroupVersionKind]*served{}
	for _, file := range files {
		all, err := objects(file)
		if err != nil {
			return nil, err
		}
		for _, object := range all {
			if object["kind"] != "CustomResourceDefinition" {
				continue
			}
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(object, crd, true); err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
			for _, version := range crd.Spec.Versions {
				if !version.Served || version.Schema == nil {
					continue
				}
				s, err := prepare(crd, version)
				if err != nil {
					return nil, fmt.Errorf("%s %s: %w", crd.Name, version.Name, err)
				}
				kinds[schema.GroupVersionKind{Group: crd.Spec.Group, Version: version.Name, Kind: crd.Spec.Names.Kind}] = s
			}
		}
	}
	if len(kinds) == 0 {
		return nil, fmt.Errorf("no CustomResourceDefinition in %s", dir)
	}
	return kinds, nil
}

func prepare(crd *apiextensionsv1.CustomResourceDefinition, version apiextensionsv1.CustomResourceDefinitionVersion) (*served, error) {
	internal := &apiextensions.CustomResourceValidation{}
	if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(version.Schema, internal, nil); err != nil {
		return nil, err
	}
	s, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
	if err != nil {
		return nil, fmt.Errorf("not a structural schema: %w", err)
	}
	s = s.DeepCopy()
	if err := structuraldefaulting.PruneDefaults(s); err != nil {
		return nil, err
	}
	schemaValidator, _, err := apiservervalidation.NewSchemaValidator(internal.OpenAPIV3Schema)
	if err != nil {
		return nil, err
	}
	return &served{
		crd:             crd.Name,
		namespaced:      crd.Spec.Scope == apiextensionsv1.NamespaceScoped,
		structural:      s,
		schemaValidator: schemaValidator,
		cel:             cel.NewValidator(s, true, celconfig.PerCallLimit),
		celRules:        countRules(s),
	}, nil
}

func countRules(s *structuralschema.Structural) int {
	if s == nil {
		return 0
	}
	n := len(s.XValidations)
	for _, property := range s.Properties {
		n += countRules(&property)
	}
	n += countRules(s.Items)
	if s.AdditionalProperties != nil {
		n += countRules(s.AdditionalProperties.Structural)
	}
	return n
}

// objects reads every YAML document of a file as an object (JSON-compatible maps).
func objects(file string) ([]map[string]interface{}, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	decoder := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	var all []map[string]interface{}
	for {
		var raw json.RawMessage
		if err := decoder.Decode(&raw); errors.Is(err, io.EOF) {
			return all, nil
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		// As the API server decodes: whole numbers are int64, not float64.
		var object map[string]interface{}
		if err := utiljson.Unmarshal(raw, &object); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if object != nil {
			all = append(all, object)
		}
	}
}

func judge(ctx context.Context, kinds map[schema.GroupVersionKind]*served, file string, object map[string]interface{}) verdict {
	decoded := &unstructured.Unstructured{Object: object}
	gvk := decoded.GroupVersionKind()
	v := verdict{File: file, Kind: decoded.GetAPIVersion() + "/" + decoded.GetKind(), Name: decoded.GetName(), Errors: []string{}}
	s, known := kinds[gvk]
	if !known {
		v.Skipped = true
		return v
	}
	v.CRD, v.CELRules = s.crd, s.celRules
	v.Errors = append(v.Errors, admit(ctx, s, decoded)...)
	if gvk.Group == scyllav1.GroupName && gvk.Kind == "ScyllaCluster" {
		v.Errors = append(v.Errors, scylla(decoded)...)
	}
	return v
}

// admit decodes and validates the object as the API server does on create, then the same object
// again over the stored one (a re-apply: transition rules see oldSelf).
func admit(ctx context.Context, s *served, decoded *unstructured.Unstructured) []string {
	var problems []string
	created := decoded.DeepCopy()
	// Decoding (customresource_handler.go schemaCoercingConverter.ConvertToVersion): with
	// fieldValidation=Strict, what pruning would drop is an error.
	for _, path := range structuralpruning.PruneWithOptions(created.Object, s.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}) {
		problems = append(problems, fmt.Sprintf("create: unknown field %q", path))
	}
	structuraldefaulting.PruneNonNullableNullsWithoutDefaults(created.Object, s.structural)
	if err, paths := schemaobjectmeta.CoerceWithOptions(nil, created.Object, s.structural, false, schemaobjectmeta.CoerceOptions{ReturnUnknownFieldPaths: true}); err != nil {
		problems = append(problems, err.Error())
	} else {
		for _, path := range paths {
			problems = append(problems, fmt.Sprintf("create: unknown field %q", path))
		}
	}
	// Defaulting (customresource_handler.go unstructuredDefaulter), before validation.
	structuraldefaulting.Default(created.Object, s.structural)
	// Create: customresource/strategy.go Validate (and validator.go customResourceValidator.Validate).
	for _, e := range s.validate(ctx, created, nil) {
		problems = append(problems, "create: "+e.Error())
	}
	// Re-apply: strategy.go ValidateUpdate, the same object over what the create stored (an apply
	// patches the stored object, so the update carries its resourceVersion).
	created.SetResourceVersion("1")
	created.SetGeneration(1)
	updated := created.DeepCopy()
	for _, e := range s.validate(ctx, updated, created) {
		problems = append(problems, "update: "+e.Error())
	}
	return problems
}

// validate is k8s.io/apiextensions-apiserver v0.33.3 pkg/registry/customresource strategy.go
// Validate / ValidateUpdate (without scale subresources, which these objects do not use).
func (s *served) validate(ctx context.Context, obj, old *unstructured.Unstructured) field.ErrorList {
	var errs field.ErrorList
	if old == nil {
		errs = append(errs, apimachineryvalidation.ValidateObjectMetaAccessor(obj, s.namespaced, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))...)
		errs = append(errs, apiservervalidation.ValidateCustomResource(nil, obj.UnstructuredContent(), s.schemaValidator)...)
	} else {
		errs = append(errs, apimachineryvalidation.ValidateObjectMetaAccessorUpdate(obj, old, field.NewPath("metadata"))...)
		errs = append(errs, apiservervalidation.ValidateCustomResourceUpdate(nil, obj.UnstructuredContent(), old.UnstructuredContent(), s.schemaValidator)...)
	}
	errs = append(errs, schemaobjectmeta.Validate(nil, obj.Object, s.structural, false)...)
	errs = append(errs, structurallisttype.ValidateListSetsAndMaps(nil, s.structural, obj.Object)...)
	if blocked, err := hasBlockingErr(errs); blocked {
		return append(errs, err)
	}
	var oldObject interface{}
	if old != nil {
		oldObject = old.Object
	}
	celErrs, _ := s.cel.Validate(ctx, nil, s.structural, obj.Object, oldObject, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...)
}

// hasBlockingErr is strategy.go's: CEL rules do not run on an object that is already malformed.
func hasBlockingErr(errs field.ErrorList) (bool, *field.Error) {
	for _, err := range errs {
		if err.Type == field.ErrorTypeNotSupported || err.Type == field.ErrorTypeRequired || err.Type == field.ErrorTypeTooLong || err.Type == field.ErrorTypeTooMany || err.Type == field.ErrorTypeTypeInvalid {
			return true, field.Invalid(nil, nil, "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation")
		}
	}
	return false, nil
}

// scylla runs Scylla Operator's validating webhook code (v1.18.0 pkg/cmd/operator/webhooks.go:
// ValidateScyllaCluster on create, ValidateScyllaClusterUpdate on update) on the typed object.
func scylla(decoded *unstructured.Unstructured) []string {
	cluster := &scyllav1.ScyllaCluster{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(decoded.Object, cluster, true); err != nil {
		return []string{"scylla-operator decode: " + err.Error()}
	}
	var problems []string
	for _, e := range scyllavalidation.ValidateScyllaCluster(cluster) {
		problems = append(problems, "scylla-operator create: "+e.Error())
	}
	for _, e := range scyllavalidation.ValidateScyllaClusterUpdate(cluster, cluster.DeepCopy()) {
		problems = append(problems, "scylla-operator update: "+e.Error())
	}
	return problems
}
