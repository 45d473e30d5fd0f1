// Command admit runs Knative's own admission code on manifests, as the webhooks of the pinned
// release (knative-v1.18.0: knative.dev/serving and knative.dev/eventing v0.45.0) run it: strict
// decoding (unknown fields rejected), SetDefaults, then Validate on create, and Validate on an
// update to the same object (a re-apply). What it cannot run here: the serving webhook's dry-run
// of the pod against the API server, and the eventing webhook's checks that call the cluster.
//
//	admit [-feature name=value ...] file.yaml ...
//
// Prints one JSON line per Knative object ({"kind","name","file","errors"}) and exits 1 when any
// object is refused. Objects of other kinds are skipped (and listed with "skipped": true).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	eventingv1alpha1 "knative.dev/eventing/pkg/apis/eventing/v1alpha1"
	"knative.dev/eventing/pkg/apis/feature"
	sourcesv1 "knative.dev/eventing/pkg/apis/sources/v1"
	"knative.dev/pkg/apis"
	webhookjson "knative.dev/pkg/webhook/json"
	"knative.dev/pkg/webhook/resourcesemantics"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
)

// The kinds the two webhooks admit that our manifests use (serving cmd/webhook/main.go,
// eventing cmd/webhook/main.go at knative-v1.18.0).
var types = map[schema.GroupVersionKind]resourcesemantics.GenericCRD{
	servingv1.SchemeGroupVersion.WithKind("Service"):            &servingv1.Service{},
	eventingv1.SchemeGroupVersion.WithKind("Broker"):            &eventingv1.Broker{},
	eventingv1.SchemeGroupVersion.WithKind("Trigger"):           &eventingv1.Trigger{},
	sourcesv1.SchemeGroupVersion.WithKind("SinkBinding"):        &sourcesv1.SinkBinding{},
	eventingv1alpha1.SchemeGroupVersion.WithKind("EventPolicy"): &eventingv1alpha1.EventPolicy{},
}

type verdict struct {
	File    string   `json:"file"`
	Kind    string   `json:"kind"`
	Name    string   `json:"name"`
	Skipped bool     `json:"skipped,omitempty"`
	Errors  []string `json:"errors"`
}

type featureFlags map[string]string

func (f featureFlags) String() string { return fmt.Sprint(map[string]string(f)) }
func (f featureFlags) Set(value string) error {
	name, setting, ok := strings.Cut(value, "=")
	if !ok {
		return fmt.Errorf("want name=value, got %q", value)
	}
	f[name] = setting
	return nil
}

func main() {
	features := featureFlags{}
	flag.Var(features, "feature", "an eventing config-features setting (name=value), e.g. authentication-oidc=enabled; repeatable")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: admit [-feature name=value ...] file.yaml ...")
		os.Exit(2)
	}
	flags, err := feature.NewFlagsConfigFromMap(features)
	if err != nil {
		fmt.Fprintln(os.Stderr, "admit:", err)
		os.Exit(2)
	}
	// Serving reads config-defaults/config-features/config-autoscaler through
	// config.FromContextOrDefaults: with nothing attached, the release's defaults.
	ctx := feature.ToContext(context.Background(), flags)
	ctx = apis.WithUserInfo(ctx, &authenticationv1.UserInfo{Username: "system:serviceaccount:security-records:deployer"})

	refused := false
	out := json.NewEncoder(os.Stdout)
	for _, file := range flag.Args() {
		documents, err := split(file)
		if err != nil {
			fmt.Fprintln(os.Stderr, "admit:", err)
			os.Exit(2)
		}
		for _, document := range documents {
			v := admit(ctx, file, document)
			if len(v.Errors) > 0 {
				refused = true
			}
			if err := out.Encode(v); err != nil {
				panic(err)
			}
		}
	}
	if refused {
		os.Exit(1)
	}
}

func split(file string) ([][]byte, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	var documents [][]byte
	for {
		document, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return documents, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if len(bytes.TrimSpace(document)) > 0 {
			documents = append(documents, document)
		}
	}
}

func admit(ctx context.Context, file string, document []byte) verdict {
	asJSON, err := yaml.YAMLToJSON(document)
	if err != nil {
		return verdict{File: file, Errors: []string{err.Error()}}
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(asJSON, &head); err != nil || head.Kind == "" {
		return verdict{File: file, Errors: []string{fmt.Sprintf("not a Kubernetes object: %v", err)}}
	}
	v := verdict{File: file, Kind: head.APIVersion + "/" + head.Kind, Name: head.Metadata.Name, Errors: []string{}}
	handler, known := types[schema.FromAPIVersionAndKind(head.APIVersion, head.Kind)]
	if !known {
		v.Skipped = true
		return v
	}

	// Create: the defaulting webhook decodes strictly and defaults; the validating webhook then
	// sees the defaulted object (knative.dev/pkg webhook/resourcesemantics/{defaulting,validation}).
	created := handler.DeepCopyObject().(resourcesemantics.GenericCRD)
	if err := webhookjson.Decode(asJSON, created, true); err != nil {
		v.Errors = append(v.Errors, "decode: "+err.Error())
		return v
	}
	created.SetDefaults(apis.WithinCreate(ctx))
	if ferr := created.Validate(apis.WithinCreate(ctx)); ferr != nil {
		v.Errors = append(v.Errors, "create: "+ferr.Error())
	}

	// Re-apply: the same manifest again over what the first apply stored.
	updated := handler.DeepCopyObject().(resourcesemantics.GenericCRD)
	if err := webhookjson.Decode(asJSON, updated, true); err != nil {
		v.Errors = append(v.Errors, "decode: "+err.Error())
		return v
	}
	// kubectl apply merges: annotations the first admission added (serving.knative.dev/creator)
	// and the manifest does not name are kept on the object the webhook sees.
	stored, _ := meta.Accessor(created)
	incoming, _ := meta.Accessor(updated)
	annotations := incoming.GetAnnotations()
	for key, value := range stored.GetAnnotations() {
		if _, named := annotations[key]; !named {
			if annotations == nil {
				annotations = map[string]string{}
			}
			annotations[key] = value
		}
	}
	incoming.SetAnnotations(annotations)
	updateCtx := apis.WithinUpdate(ctx, created)
	updated.SetDefaults(updateCtx)
	if ferr := updated.Validate(updateCtx); ferr != nil {
		v.Errors = append(v.Errors, "update: "+ferr.Error())
	}
	return v
}
