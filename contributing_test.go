package main

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The layout block of CONTRIBUTING's Layout section names every package of the module, and every
// module nested in it, one a line, and nothing that no longer exists: a package added or moved
// without CONTRIBUTING.md fails here.
func TestContributingLayoutListsEveryPackage(t *testing.T) {
	contributing, err := os.ReadFile("CONTRIBUTING.md")
	if err != nil {
		t.Fatal(err)
	}
	listed := layoutEntries(t, string(contributing))

	out, err := exec.CommandContext(t.Context(), "go", "list", "-f", "{{.ImportPath}} {{.Dir}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list ./...: %v", err)
	}
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{} // layout entry => what it stands for
	for line := range strings.Lines(string(out)) {
		pkg, dir, _ := strings.Cut(strings.TrimSpace(line), " ")
		rel, err := filepath.Rel(root, dir)
		if err != nil {
			t.Fatal(err)
		}
		entry := filepath.ToSlash(rel)
		if entry == "." {
			entry = "main.go" // the root package is the provider's main
		}
		want[entry] = "package " + pkg
	}
	// go list skips nested modules, such as the pinned tools.
	err = filepath.WalkDir("internal", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "go.mod" {
			want[filepath.ToSlash(filepath.Dir(path))] = "the module " + path
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 5 {
		t.Fatalf("found only %d packages and modules: %v", len(want), want)
	}

	for entry, what := range want {
		if !listed[entry] {
			t.Errorf("CONTRIBUTING's layout block does not list %s (%s): add a line for it", entry, what)
		}
	}
	for entry := range listed {
		if _, ok := want[entry]; !ok && (entry == "main.go" || strings.HasPrefix(entry, "internal/")) {
			t.Errorf("CONTRIBUTING's layout block lists %s, which is no package of the module", entry)
		}
	}
}

// layoutEntries returns the first word of each line of the first code block after "## Layout".
func layoutEntries(t *testing.T, contributing string) map[string]bool {
	t.Helper()
	_, section, ok := strings.Cut(contributing, "\n## Layout\n")
	if !ok {
		t.Fatal(`CONTRIBUTING.md has no "## Layout" section`)
	}
	_, block, ok := strings.Cut(section, "```\n")
	if ok {
		block, _, ok = strings.Cut(block, "```")
	}
	if !ok {
		t.Fatal("CONTRIBUTING's Layout section has no layout block")
	}
	entries := map[string]bool{}
	for line := range strings.Lines(block) {
		if fields := strings.Fields(line); len(fields) > 0 {
			entries[strings.TrimSuffix(fields[0], "/")] = true
		}
	}
	return entries
}
