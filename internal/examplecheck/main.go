// Command examplecheck proves that every Terraform example in examples/ is formatted and valid
// against the provider built by `make build`, so that the documentation generated from them never
// shows configuration that Terraform would reject. `make validate-examples` runs it; nothing is
// downloaded.
//
// The rules:
//
//   - Every directory under examples/ that holds .tf files is checked, and one directory is one
//     configuration, as Terraform loads it. Files that tfplugindocs shows separately can therefore
//     lean on each other: import-by-string-id.tf imports into the resource that resource.tf
//     declares. `terraform validate` does not notice an import block whose target is missing
//     (only plan does, and plan needs a live organization), so the check looks for that itself.
//   - `terraform fmt -check` runs on the files exactly as they are in the repository.
//   - Documentation examples are fragments: most have no terraform block. Without one, Terraform
//     would look for the provider as hashicorp/molecule, so when no file in the directory has a
//     required_providers block the check adds one for molecule-ai/molecule to its copy. A
//     directory that declares its own required_providers is validated as written.
//   - `terraform init` and `terraform validate` run in a copy, with a CLI configuration whose
//     only installation method is a filesystem mirror holding the built provider: a
//     configuration that needs any other provider fails instead of reaching for a registry.
//   - Files other than .tf are not Terraform. import.sh is shell that tfplugindocs shows as the
//     `terraform import` command; it is checked only for the import address, which must name a
//     resource declared in the same directory.
//   - Every template under templates/ takes its HCL from examples/ (tffile) rather than from a
//     fenced terraform or hcl block, so that everything the documentation shows is checked here.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	providerAddress = "registry.terraform.io/molecule-ai/molecule"

	// mirrorVersion is a placeholder: examples carry no version constraint, so any version
	// satisfies them.
	mirrorVersion = "0.0.1"

	// addedFile is the name of the required_providers file added to fragments. It cannot clash
	// with an example: the check fails if an example already has a file by that name.
	addedFile = "zz_examplecheck_required_providers.tf"

	// commandTimeout bounds each terraform run, so that a hang fails the check instead of
	// stalling CI.
	commandTimeout = 5 * time.Minute

	requiredProviders = `terraform {
  required_providers {
    molecule = {
      source = "molecule-ai/molecule"
    }
  }
}
`
)

var (
	// requiredProvidersBlock finds a required_providers block at the start of a line; examples
	// are formatted, so that is where one is.
	requiredProvidersBlock = regexp.MustCompile(`(?m)^\s*required_providers\s*\{`)

	// resourceBlock, importBlockTarget and importCommand find the addresses that import blocks
	// and import.sh must agree on. Top-level blocks start at the beginning of a line and their
	// arguments are indented, because the examples are formatted.
	resourceBlock     = regexp.MustCompile(`(?m)^resource\s+"([^"]+)"\s+"([^"]+)"`)
	importBlockTarget = regexp.MustCompile(`(?ms)^import\s*\{.*?^\s+to\s*=\s*([^\s\[]+)`)
	importCommand     = regexp.MustCompile(`(?m)^\s*terraform\s+import\s+(?:-\S+\s+)*([^\s\[]+)\S*\s+\S+`)

	// fencedHCL is the opening of a fenced code block that would show HCL this check never sees.
	fencedHCL = regexp.MustCompile("(?m)^\\s*```\\s*(terraform|hcl|tf)\\s*$")
)

func main() {
	providerDir := flag.String("provider-dir", "bin", "directory holding the built terraform-provider-molecule binary")
	examplesDir := flag.String("examples", "examples", "directory of example configurations")
	templatesDir := flag.String("templates", "templates", "directory of documentation templates")
	terraform := flag.String("terraform", "", "terraform binary (default: terraform on PATH)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	failed, err := run(ctx, *providerDir, *examplesDir, *templatesDir, *terraform)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "examplecheck: %v\n", err)
		os.Exit(2)
	}
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "\nexamplecheck: %d failed\n", failed)
		os.Exit(1)
	}
	fmt.Println("\nexamplecheck: every example is formatted and valid")
}

// run checks everything and returns how many directories and templates failed; err is for a
// check that could not run at all.
func run(ctx context.Context, providerDir, examplesDir, templatesDir, terraform string) (int, error) {
	if terraform == "" {
		var err error
		if terraform, err = exec.LookPath("terraform"); err != nil {
			return 0, errors.New("terraform is not on PATH; install Terraform 1.10 or later")
		}
	}
	dirs, err := exampleDirs(examplesDir)
	if err != nil {
		return 0, err
	}
	if len(dirs) == 0 {
		return 0, fmt.Errorf("no .tf files under %s", examplesDir)
	}

	work, err := os.MkdirTemp("", "molecule-examplecheck-")
	if err != nil {
		return 0, err
	}
	defer func() { _ = os.RemoveAll(work) }()
	cliConfig, err := writeCLIConfig(work, providerDir)
	if err != nil {
		return 0, err
	}
	env := terraformEnv(cliConfig)

	failed := 0
	for _, msg := range checkTemplates(templatesDir) {
		failed++
		fmt.Printf("FAIL %s\n", msg)
	}

	// Directories are independent; init is the slow part, so run a few at once and report in
	// order.
	results := make([]string, len(dirs))
	sem := make(chan struct{}, min(4, runtime.NumCPU()))
	var wg sync.WaitGroup
	for i, dir := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = checkDir(ctx, dir, filepath.Join(work, fmt.Sprintf("ex%02d", i)), terraform, env)
		}()
	}
	wg.Wait()
	for i, dir := range dirs {
		if results[i] == "" {
			fmt.Printf("ok   %s\n", dir)
			continue
		}
		failed++
		fmt.Printf("FAIL %s\n%s\n", dir, indent(results[i]))
	}
	return failed, nil
}

// exampleDirs lists, sorted, every directory under root that directly contains a .tf file.
func exampleDirs(root string) ([]string, error) {
	var dirs []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".terraform" {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".tf") {
			if dir := filepath.Dir(path); !slices.Contains(dirs, dir) {
				dirs = append(dirs, dir)
			}
		}
		return nil
	})
	slices.Sort(dirs)
	return dirs, err
}

// checkDir runs every check on one example directory, using work as scratch space, and returns
// what went wrong, or "" if nothing did.
func checkDir(ctx context.Context, dir, work, terraform string, env []string) string {
	var problems []string
	fail := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	report := func() string { return strings.Join(problems, "\n") }

	entries, err := os.ReadDir(dir)
	if err != nil {
		return err.Error()
	}
	if err := os.MkdirAll(work, 0o700); err != nil {
		return err.Error()
	}
	var sources []byte
	var importScripts []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		switch {
		case strings.HasSuffix(e.Name(), ".tf"):
			if e.Name() == addedFile {
				fail("%s is reserved for the file this check adds", addedFile)
				return report()
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				return err.Error()
			}
			if err := os.WriteFile(filepath.Join(work, e.Name()), b, 0o600); err != nil {
				return err.Error()
			}
			sources = append(append(sources, b...), '\n')
		case e.Name() == "import.sh":
			importScripts = append(importScripts, filepath.Join(dir, e.Name()))
		}
	}

	if out, err := tf(ctx, terraform, work, env, "fmt", "-check", "-diff", "-no-color"); err != nil {
		fail("terraform fmt -check: not formatted (run terraform fmt -recursive examples)\n%s", out)
	}
	declared := declaredResources(sources)
	for _, m := range importBlockTarget.FindAllSubmatch(sources, -1) {
		if addr := string(m[1]); !declared[addr] {
			fail("an import block imports into %s, which no .tf file in the directory declares", addr)
		}
	}
	for _, script := range importScripts {
		if msg := checkImportScript(script, declared); msg != "" {
			fail("%s", msg)
		}
	}
	if !requiredProvidersBlock.Match(sources) {
		if err := os.WriteFile(filepath.Join(work, addedFile), []byte(requiredProviders), 0o600); err != nil {
			return err.Error()
		}
	}
	if out, err := tf(ctx, terraform, work, env, "init", "-input=false", "-no-color", "-backend=false"); err != nil {
		fail("terraform init failed\n%s", out)
		return report()
	}
	if out, err := tf(ctx, terraform, work, env, "validate", "-no-color"); err != nil {
		fail("terraform validate failed\n%s", out)
	}
	return report()
}

// declaredResources returns the address (type.name) of every resource block in sources.
func declaredResources(sources []byte) map[string]bool {
	declared := map[string]bool{}
	for _, m := range resourceBlock.FindAllSubmatch(sources, -1) {
		declared[string(m[1])+"."+string(m[2])] = true
	}
	return declared
}

// checkImportScript checks that every `terraform import` in script names a resource declared in
// the directory's configuration.
func checkImportScript(script string, declared map[string]bool) string {
	b, err := os.ReadFile(script)
	if err != nil {
		return err.Error()
	}
	imports := importCommand.FindAllSubmatch(b, -1)
	if len(imports) == 0 {
		return fmt.Sprintf("%s: no `terraform import` command", script)
	}
	var problems []string
	for _, m := range imports {
		if addr := string(m[1]); !declared[addr] {
			problems = append(problems, fmt.Sprintf("%s imports into %s, which no .tf file in its directory declares", script, addr))
		}
	}
	return strings.Join(problems, "\n")
}

// checkTemplates returns a problem for each fenced terraform or hcl block in a template.
func checkTemplates(root string) []string {
	var problems []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range bytes.Split(b, []byte("\n")) {
			if fencedHCL.Match(line) {
				problems = append(problems, fmt.Sprintf("%s:%d: a fenced HCL block is never validated; move it to a file under examples/ and embed it with tffile", path, i+1))
			}
		}
		return nil
	})
	if err != nil {
		problems = append(problems, err.Error())
	}
	return problems
}

// writeCLIConfig makes the built provider the only provider Terraform can install: a filesystem
// mirror holds it, and there is no other installation method. validate needs no more than init
// gives it, so dev_overrides are not needed.
func writeCLIConfig(work, providerDir string) (string, error) {
	bin, err := os.ReadFile(filepath.Join(providerDir, "terraform-provider-molecule"))
	if err != nil {
		return "", fmt.Errorf("the provider is not built (run make build): %w", err)
	}
	mirror := filepath.Join(work, "mirror")
	pkgDir := filepath.Join(mirror, filepath.FromSlash(providerAddress), mirrorVersion, runtime.GOOS+"_"+runtime.GOARCH)
	if err := os.MkdirAll(pkgDir, 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(pkgDir, "terraform-provider-molecule"), bin, 0o700); err != nil {
		return "", err
	}
	cfg := fmt.Sprintf("provider_installation {\n  filesystem_mirror {\n    path = %q\n  }\n}\n", mirror)
	path := filepath.Join(work, "examplecheck.tfrc")
	return path, os.WriteFile(path, []byte(cfg), 0o600)
}

// terraformEnv is the ambient environment minus anything that could point Terraform elsewhere
// (TF_* such as TF_CLI_ARGS, TF_DATA_DIR or TF_PLUGIN_CACHE_DIR, and MOLECULE_*), plus the CLI
// configuration and no version checks.
func terraformEnv(cliConfig string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		upper := strings.ToUpper(name)
		if strings.HasPrefix(upper, "TF_") || strings.HasPrefix(upper, "MOLECULE_") || upper == "CHECKPOINT_DISABLE" {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"TF_CLI_CONFIG_FILE="+cliConfig,
		"CHECKPOINT_DISABLE=1",
		"TF_IN_AUTOMATION=1",
		"TF_INPUT=0",
	)
}

func tf(ctx context.Context, terraform, dir string, env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, terraform, args...)
	cmd.Dir, cmd.Env = dir, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}
