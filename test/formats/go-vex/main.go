// Command go-vex is the OpenVEX judge of the format tests: the OpenVEX project's own Go library
// (github.com/openvex/go-vex, the library vexctl is a command line over) reading, merging and
// writing documents the way vexctl's merge and create subcommands do.
//
//	go-vex merge [-id IRI] [-author A] FILE...
//	                            open each file as vexctl merge does (vex.Open), check every statement
//	                            with go-vex's rules (Statement.Validate, what vexctl create and add
//	                            enforce), merge them with vex.MergeDocumentsWithOptions and print a
//	                            JSON summary: statements per document, the merged statements, and
//	                            the merged document as go-vex writes it. Exit 1 on the first document
//	                            go-vex refuses, with the reason on stderr.
//	go-vex create -author A -statement JSON...
//	                            write to stdout a document built from go-vex's own types, one
//	                            statement per -statement ({"product", "subcomponents", "vulnerability",
//	                            "aliases", "status", "justification", "impact_statement",
//	                            "action_statement", "status_notes"}), as vexctl create builds one
//	                            (vex.New, Statement.Validate, GenerateCanonicalID, ToJSON).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/openvex/go-vex/pkg/vex"
)

type documentSummary struct {
	File       string `json:"file"`
	ID         string `json:"id"`
	Author     string `json:"author"`
	Context    string `json:"context"`
	Statements int    `json:"statements"`
}

type productSummary struct {
	ID            string   `json:"id"`
	Subcomponents []string `json:"subcomponents"`
}

type statementSummary struct {
	Vulnerability   string           `json:"vulnerability"`
	Aliases         []string         `json:"aliases"`
	Products        []productSummary `json:"products"`
	Status          string           `json:"status"`
	Justification   string           `json:"justification"`
	ImpactStatement string           `json:"impactStatement"`
	ActionStatement string           `json:"actionStatement"`
	Timestamp       *time.Time       `json:"timestamp"`
}

type mergeSummary struct {
	Documents []documentSummary  `json:"documents"`
	Merged    []statementSummary `json:"merged"`
	Document  json.RawMessage    `json:"document"`
}

func summarise(statement *vex.Statement) statementSummary {
	summary := statementSummary{
		Vulnerability:   string(statement.Vulnerability.Name),
		Aliases:         []string{},
		Products:        []productSummary{},
		Status:          string(statement.Status),
		Justification:   string(statement.Justification),
		ImpactStatement: statement.ImpactStatement,
		ActionStatement: statement.ActionStatement,
		Timestamp:       statement.Timestamp,
	}
	for _, alias := range statement.Vulnerability.Aliases {
		summary.Aliases = append(summary.Aliases, string(alias))
	}
	for _, product := range statement.Products {
		entry := productSummary{ID: product.ID, Subcomponents: []string{}}
		for _, subcomponent := range product.Subcomponents {
			entry.Subcomponents = append(entry.Subcomponents, subcomponent.ID)
		}
		summary.Products = append(summary.Products, entry)
	}
	return summary
}

func merge(args []string) error {
	flags := flag.NewFlagSet("merge", flag.ContinueOnError)
	options := vex.MergeOptions{}
	flags.StringVar(&options.DocumentID, "id", "", "the merged document's @id (vexctl merge --id)")
	flags.StringVar(&options.Author, "author", "", "the merged document's author (vexctl merge --author)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	files := flags.Args()
	if len(files) == 0 {
		return errors.New("merge: no files")
	}
	summary := mergeSummary{Documents: []documentSummary{}, Merged: []statementSummary{}}
	docs := make([]*vex.VEX, 0, len(files))
	for _, file := range files {
		doc, err := vex.Open(file)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		for i := range doc.Statements {
			if err := doc.Statements[i].Validate(); err != nil {
				return fmt.Errorf("%s: statement %d: %w", file, i, err)
			}
		}
		docs = append(docs, doc)
		summary.Documents = append(summary.Documents, documentSummary{File: file, ID: doc.ID, Author: doc.Author, Context: doc.Context, Statements: len(doc.Statements)})
	}
	merged, err := vex.MergeDocumentsWithOptions(&options, docs)
	if err != nil {
		return fmt.Errorf("merging %d documents: %w", len(docs), err)
	}
	for i := range merged.Statements {
		summary.Merged = append(summary.Merged, summarise(&merged.Statements[i]))
	}
	if summary.Document, err = json.Marshal(merged); err != nil {
		return fmt.Errorf("writing the merged document: %w", err)
	}
	return json.NewEncoder(os.Stdout).Encode(summary)
}

type statementSpec struct {
	Product         string   `json:"product"`
	Subcomponents   []string `json:"subcomponents"`
	Vulnerability   string   `json:"vulnerability"`
	Aliases         []string `json:"aliases"`
	Status          string   `json:"status"`
	Justification   string   `json:"justification"`
	ImpactStatement string   `json:"impact_statement"`
	ActionStatement string   `json:"action_statement"`
	StatusNotes     string   `json:"status_notes"`
}

type specs []statementSpec

func (s *specs) String() string { return fmt.Sprint(len(*s)) }

func (s *specs) Set(value string) error {
	var spec statementSpec
	decoder := json.NewDecoder(strings.NewReader(value))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&spec); err != nil {
		return fmt.Errorf("-statement %s: %w", value, err)
	}
	*s = append(*s, spec)
	return nil
}

func create(args []string) error {
	flags := flag.NewFlagSet("create", flag.ContinueOnError)
	author := flags.String("author", vex.DefaultAuthor, "the document's author")
	role := flags.String("role", vex.DefaultRole, "the author's role")
	var statements specs
	flags.Var(&statements, "statement", "a statement as JSON (repeatable)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	doc := vex.New()
	doc.Author = *author
	doc.AuthorRole = *role
	for i, spec := range statements {
		now := time.Now()
		statement := vex.Statement{
			Vulnerability:   vex.Vulnerability{Name: vex.VulnerabilityID(spec.Vulnerability), Aliases: []vex.VulnerabilityID{}},
			Timestamp:       &now,
			Status:          vex.Status(spec.Status),
			StatusNotes:     spec.StatusNotes,
			Justification:   vex.Justification(spec.Justification),
			ImpactStatement: spec.ImpactStatement,
			ActionStatement: spec.ActionStatement,
		}
		if spec.ActionStatement != "" {
			statement.ActionStatementTimestamp = &now
		}
		for _, alias := range spec.Aliases {
			statement.Vulnerability.Aliases = append(statement.Vulnerability.Aliases, vex.VulnerabilityID(alias))
		}
		product := vex.Product{Component: vex.Component{ID: spec.Product}}
		for _, id := range spec.Subcomponents {
			product.Subcomponents = append(product.Subcomponents, vex.Subcomponent{Component: vex.Component{ID: id}})
		}
		statement.Products = []vex.Product{product}
		if err := statement.Validate(); err != nil {
			return fmt.Errorf("statement %d: invalid statement: %w", i, err)
		}
		doc.Statements = append(doc.Statements, statement)
	}
	if _, err := doc.GenerateCanonicalID(); err != nil {
		return fmt.Errorf("generating document id: %w", err)
	}
	return doc.ToJSON(os.Stdout)
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: go-vex merge FILE... | go-vex create -author A -statement JSON...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "merge":
		err = merge(os.Args[2:])
	case "create":
		err = create(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-vex:", err)
		os.Exit(1)
	}
}
