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
//   - An import block by identity needs Terraform or OpenTofu 1.12 or later. On an older CLI, a
//     file holding one is checked by fmt and for its import address but left out of init and
//     validate, and the check says so; run it with -terraform set to a newer CLI to validate it.
//   - Every template under templates/ takes its HCL from examples/ (tffile) rather than from a
//     fenced terraform or hcl block, so that everything the documentation shows is checked here.
//   - Query files (.tfquery.hcl, for `terraform query`) need Terraform 1.14 or later. Every
//     directory holding one is checked again, with its .tf files, by fmt, init and
//     `validate -query` on -terraform if it is new enough, else on -query-terraform. Without
//     such a CLI the check fails in CI (CI set) and elsewhere says what it left out.
//   - Action blocks need Terraform 1.14 or later too. A directory that declares one is checked
//     whole on -terraform if it is new enough, else on -query-terraform; without such a CLI the
//     check fails, everywhere, since the directory could not be validated at all.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/molecule-ai/terraform-provider-molecule/internal/tfcli"
)

const (
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

	// identityImport finds an import block that names its object by identity.
	identityImport = regexp.MustCompile(`(?ms)^import\s*\{[^}]*?^\s+identity\s*=`)

	// actionBlock finds an action block; examples are formatted, so it starts a line.
	actionBlock = regexp.MustCompile(`(?m)^action\s+"`)

	// queryFileSuffix ends the name of a query file, which only `terraform query` reads.
	queryFileSuffix = ".tfquery.hcl"

	// fencedHCL is the opening of a fenced code block that would show HCL this check never sees.
	fencedHCL = regexp.MustCompile("(?m)^\\s*```\\s*(terraform|hcl|tf)\\s*$")
)

func main() {
	providerDir := flag.String("provider-dir", "bin", "directory holding the built terraform-provider-molecule binary")
	examplesDir := flag.String("examples", "examples", "directory of example configurations")
	templatesDir := flag.String("templates", "templates", "directory of documentation templates")
	terraform := flag.String("terraform", "", "terraform binary (default: terraform on PATH)")
	queryTerraform := flag.String("query-terraform", "../shared/bin/terraform-1.16.0-rc2",
		"Terraform 1.14 or later, for query files and actions when -terraform is older")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	failed, err := run(ctx, *providerDir, *examplesDir, *templatesDir, *terraform, *queryTerraform)
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
func run(ctx context.Context, providerDir, examplesDir, templatesDir, terraform, queryTerraform string) (int, error) {
	main, err := tfcli.Identify(ctx, terraform)
	if err != nil {
		return 0, err
	}
	terraform = main.Path
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
	// The mirror is the only installation method (examples carry no version constraint, so the
	// mirror's placeholder version satisfies them): a configuration that needs any other provider
	// fails instead of reaching for a registry. validate needs no more than init gives it, so
	// there are no dev_overrides.
	install, err := tfcli.InstallOffline(work, providerDir, tfcli.TerraformRegistry, false)
	if err != nil {
		return 0, err
	}
	env := tfcli.Environ(os.Environ(), install.CLIConfig)
	// Terraform and OpenTofu both read import blocks by identity from 1.12 on.
	identity, cli := main.AtLeast(1, 12), cliName(main)

	// Directories that declare actions need a CLI that can read them; there is no older one to
	// fall back on.
	var actionsCLI, actionsName string
	if declaring := slices.DeleteFunc(slices.Clone(dirs), func(d string) bool { return !declaresAction(d) }); len(declaring) > 0 {
		cli, name, why, err := queryCLI(ctx, main, queryTerraform)
		if err != nil {
			return 0, err
		}
		if cli == "" {
			return 0, fmt.Errorf("%s declare actions, which need Terraform 1.14 or later, but %s; set -query-terraform to such a CLI",
				strings.Join(declaring, ", "), why)
		}
		actionsCLI, actionsName = cli, name
	}

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
			cli, ident := terraform, identity
			if actionsCLI != "" && declaresAction(dir) {
				cli, ident = actionsCLI, true // 1.14 reads imports by identity too
			}
			results[i] = checkDir(ctx, dir, filepath.Join(work, fmt.Sprintf("ex%02d", i)), cli, env, ident)
		}()
	}
	wg.Wait()
	for i, dir := range dirs {
		if results[i] == "" && actionsCLI != "" && declaresAction(dir) {
			fmt.Printf("ok   %s (actions, with %s)\n", dir, actionsName)
			continue
		}
		if results[i] == "" {
			fmt.Printf("ok   %s\n", dir)
			if skipped := identityImportFiles(dir); !identity && len(skipped) > 0 {
				fmt.Printf("     not validated: %s, an import by identity, which %s cannot read (it needs 1.12 or later)\n",
					strings.Join(skipped, ", "), cli)
			}
			continue
		}
		failed++
		fmt.Printf("FAIL %s\n%s\n", dir, indent(results[i]))
	}
	queryFailed, err := checkQueryDirs(ctx, examplesDir, filepath.Join(work, "query"), main, queryTerraform, env)
	return failed + queryFailed, err
}

// exampleDirs lists, sorted, every directory under root that directly contains a .tf file.
func exampleDirs(root string) ([]string, error) {
	return dirsWithFiles(root, ".tf")
}

// dirsWithFiles lists, sorted, every directory under root that directly contains a file whose
// name ends with suffix.
func dirsWithFiles(root, suffix string) ([]string, error) {
	var dirs []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".terraform" {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), suffix) {
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
// what went wrong, or "" if nothing did. Without identity, files that import by identity are left
// out of init and validate.
func checkDir(ctx context.Context, dir, work, terraform string, env []string, identity bool) string {
	var problems []string
	fail := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	report := func() string { return strings.Join(problems, "\n") }

	entries, err := scratch(dir, work)
	if err != nil {
		return err.Error()
	}
	var sources []byte
	var importScripts, skipped []string
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
			b, err := copyInto(work, dir, e.Name())
			if err != nil {
				return err.Error()
			}
			sources = append(append(sources, b...), '\n')
			if !identity && identityImport.Match(b) {
				skipped = append(skipped, e.Name())
			}
		case e.Name() == "import.sh":
			importScripts = append(importScripts, filepath.Join(dir, e.Name()))
		}
	}

	if out, err := tf(ctx, terraform, work, env, "fmt", "-check", "-diff", "-no-color"); err != nil {
		fail("terraform fmt -check: not formatted (run terraform fmt -recursive examples)\n%s", out)
	}
	for _, name := range skipped {
		if err := os.Remove(filepath.Join(work, name)); err != nil {
			return err.Error()
		}
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

// scratch lists the entries of dir and creates work, the scratch directory they are copied to.
func scratch(dir, work string) ([]os.DirEntry, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	return entries, os.MkdirAll(work, 0o700)
}

// copyInto copies the file name from dir into work and returns its content.
func copyInto(work, dir, name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	return b, os.WriteFile(filepath.Join(work, name), b, 0o600)
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

// declaresAction reports whether a .tf file in dir declares an action.
func declaresAction(dir string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*.tf"))
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && actionBlock.Match(b) {
			return true
		}
	}
	return false
}

// identityImportFiles lists the .tf files in dir that import by identity.
func identityImportFiles(dir string) []string {
	files, _ := filepath.Glob(filepath.Join(dir, "*.tf"))
	var out []string
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && identityImport.Match(b) {
			out = append(out, filepath.Base(f))
		}
	}
	return out
}

// cliName names a CLI in the report by its file name and version: "terraform-1.16.0-rc2 1.16.0-rc2".
func cliName(c tfcli.CLI) string { return filepath.Base(c.Path) + " " + c.Version }

// queryCLI returns the CLI that can validate query files and actions: main if it is Terraform
// 1.14 or later, else queryTerraform if that exists and is. Without one, path is "" and why says
// so.
func queryCLI(ctx context.Context, main tfcli.CLI, queryTerraform string) (path, name, why string, err error) {
	if main.AtLeast(1, 14) {
		return main.Path, cliName(main), "", nil
	}
	why = fmt.Sprintf("%s cannot read them (Terraform 1.14 or later can)", cliName(main))
	// Absolute, because each run's working directory is a scratch copy, which a relative path
	// would be resolved against.
	if queryTerraform, err = filepath.Abs(queryTerraform); err != nil {
		return "", "", "", err
	}
	if _, statErr := os.Stat(queryTerraform); statErr != nil {
		return "", "", fmt.Sprintf("%s, and -query-terraform %s: %v", why, queryTerraform, statErr), nil
	}
	q, err := tfcli.Identify(ctx, queryTerraform)
	if err != nil {
		return "", "", "", err
	}
	if q.AtLeast(1, 14) {
		return q.Path, cliName(q), "", nil
	}
	return "", "", fmt.Sprintf("%s, nor can -query-terraform %s", why, cliName(q)), nil
}

// checkQueryDirs checks every directory under examplesDir that holds query files, with the CLI
// queryCLI picks, and returns how many failed. Query files that nothing can validate fail the
// check in CI, so that they cannot go unchecked there unnoticed.
func checkQueryDirs(ctx context.Context, examplesDir, work string, main tfcli.CLI, queryTerraform string, env []string) (int, error) {
	dirs, err := dirsWithFiles(examplesDir, queryFileSuffix)
	if err != nil || len(dirs) == 0 {
		return 0, err
	}
	cli, name, why, err := queryCLI(ctx, main, queryTerraform)
	switch {
	case err != nil:
		return 0, err
	case cli == "" && os.Getenv("CI") != "":
		return 0, fmt.Errorf("the query files under %s must be validated in CI, but %s", examplesDir, why)
	case cli == "":
		for _, dir := range dirs {
			fmt.Printf("skip %s: query files not validated: %s\n", dir, why)
		}
		return 0, nil
	}
	failed := 0
	for i, dir := range dirs {
		if msg := checkQueryDir(ctx, dir, filepath.Join(work, fmt.Sprintf("q%02d", i)), cli, env); msg != "" {
			failed++
			fmt.Printf("FAIL %s (query files, with %s)\n%s\n", dir, name, indent(msg))
			continue
		}
		fmt.Printf("ok   %s (query files, with %s)\n", dir, name)
	}
	return failed, nil
}

// checkQueryDir runs fmt, init and validate -query on the query files of dir together with its
// .tf files, which they may lean on, in a copy at work.
func checkQueryDir(ctx context.Context, dir, work, terraform string, env []string) string {
	entries, err := scratch(dir, work)
	if err != nil {
		return err.Error()
	}
	var sources []byte
	for _, e := range entries {
		if e.IsDir() || !(strings.HasSuffix(e.Name(), ".tf") || strings.HasSuffix(e.Name(), queryFileSuffix)) {
			continue
		}
		b, err := copyInto(work, dir, e.Name())
		if err != nil {
			return err.Error()
		}
		sources = append(append(sources, b...), '\n')
	}
	// Older CLIs skip query files in fmt, so only this check sees whether they are formatted.
	if out, err := tf(ctx, terraform, work, env, "fmt", "-check", "-diff", "-no-color"); err != nil {
		return fmt.Sprintf("terraform fmt -check: not formatted (run terraform fmt on it with Terraform 1.14 or later): %v\n%s", err, out)
	}
	if !requiredProvidersBlock.Match(sources) {
		if err := os.WriteFile(filepath.Join(work, addedFile), []byte(requiredProviders), 0o600); err != nil {
			return err.Error()
		}
	}
	if out, err := tf(ctx, terraform, work, env, "init", "-input=false", "-no-color", "-backend=false"); err != nil {
		return fmt.Sprintf("terraform init failed: %v\n%s", err, out)
	}
	if out, err := tf(ctx, terraform, work, env, "validate", "-query", "-no-color"); err != nil {
		return fmt.Sprintf("terraform validate -query failed: %v\n%s", err, out)
	}
	return ""
}

// tf runs one terraform command and returns what it printed; err says why it failed, exiting
// non-zero included.
func tf(ctx context.Context, terraform, dir string, env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	res, err := tfcli.Invocation{CLI: terraform, Dir: dir, Env: env, Args: args}.Run(ctx)
	if err == nil && res.Code != 0 {
		err = fmt.Errorf("exit status %d", res.Code)
	}
	return strings.TrimSpace(string(res.Output)), err
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}
