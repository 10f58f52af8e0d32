// Command demo runs the provider end to end against a local emulator: mint, list, plan, destroy,
// and a check on the emulator that every key is revoked. `make demo` builds the provider and
// runs it; nothing leaves this machine.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
	"github.com/molecule-ai/terraform-provider-molecule/internal/tfcli"
)

func main() {
	providerDir := flag.String("provider-dir", "", "directory holding the built terraform-provider-molecule binary")
	configDir := flag.String("config", "examples/demo", "Terraform configuration to apply")
	flag.Parse()
	if err := run(*providerDir, *configDir); err != nil {
		fmt.Fprintf(os.Stderr, "\ndemo FAILED: %v\n", err)
		os.Exit(1)
	}
	fmt.Println("\ndemo OK: keys minted, listed, planned without changes, destroyed and confirmed revoked.")
}

func run(providerDir, configDir string) error {
	if providerDir == "" {
		return fmt.Errorf("-provider-dir is required")
	}
	tf, err := tfcli.Find("")
	if err != nil {
		return err
	}

	step("Starting the Molecule emulator on a free loopback port")
	emu, err := emulator.New(emulator.Options{})
	if err != nil {
		return err
	}
	if err := emu.Start("127.0.0.1:0"); err != nil {
		return err
	}
	defer func() {
		step("Stopping the emulator")
		_ = emu.Close()
	}()
	fmt.Println("   emulator listening at", emu.URL())

	work, err := os.MkdirTemp("", "molecule-demo-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(work) }()
	if err := copyTF(configDir, work); err != nil {
		return err
	}
	// dev_overrides makes plan and apply run the freshly built provider; the filesystem mirror
	// lets `terraform init` succeed without contacting any registry.
	install, err := tfcli.InstallOffline(work, providerDir, tfcli.TerraformRegistry, true)
	if err != nil {
		return err
	}
	fmt.Println("   working directory", work, "with a dev_overrides CLI configuration")

	env := tfcli.Environ(os.Environ(), install.CLIConfig,
		"MOLECULE_ENDPOINT="+emu.URL(),
		// An org key anchored to the organization mints at once; ADMIN_TOKEN mints wait for a
		// person's approval, as on the service since June 2026.
		"MOLECULE_ORG_TOKEN="+emu.OrgKey(),
	)
	// Everything Terraform printed, checked for secrets once they are known: the minted keys are
	// in state only after the apply that printed its output.
	var printed bytes.Buffer
	terraform := func(args ...string) (int, error) {
		// In the foreground, Ctrl-C reaches terraform from the terminal and lets it stop cleanly.
		res, err := tfcli.Invocation{CLI: tf, Dir: work, Env: env, Args: args, Foreground: true, Stdout: os.Stdout, Stderr: os.Stderr}.
			Run(context.Background())
		printed.Write(res.Output)
		// A guide-style key is caught by the client's pattern; the deployed service's keys have no
		// format, so the output is checked against the real secrets too (see leaked).
		if client.KeyPattern.Match(res.Output) || bytes.Contains(res.Output, []byte(emu.OrgKey())) {
			return -1, fmt.Errorf("terraform %s printed a secret", args[0])
		}
		return res.Code, err
	}
	mustSucceed := func(args ...string) error {
		code, err := terraform(args...)
		if err == nil && code != 0 {
			err = fmt.Errorf("terraform %s exited %d", strings.Join(args, " "), code)
		}
		return err
	}

	step("terraform init")
	if err := mustSucceed("init", "-input=false", "-no-color"); err != nil {
		return err
	}

	step("terraform apply: mint two keys and list them through the data source")
	if err := mustSucceed("apply", "-auto-approve", "-input=false", "-no-color"); err != nil {
		return err
	}
	// Besides Terraform's own credential, the org key the emulator issued.
	live := slices.DeleteFunc(emu.LiveKeys(), func(k emulator.Key) bool { return k.ID == emu.OrgKeyID() })
	fmt.Printf("   the emulator (%s dialect) now holds %d live keys besides Terraform's credential:\n", emu.Dialect(), len(live))
	for _, k := range live {
		fmt.Printf("     %s  prefix=%s…  %-20s created_by=%s\n", k.ID, k.Prefix, k.Name, k.CreatedBy)
	}
	if len(live) != 2 {
		return fmt.Errorf("want 2 live keys after apply, got %d", len(live))
	}
	secrets, err := stateSecrets(filepath.Join(work, "terraform.tfstate"))
	if err != nil {
		return err
	}
	if len(secrets) != 2 {
		return fmt.Errorf("want the 2 minted secrets in state, found %d", len(secrets))
	}
	if leaked(printed.Bytes(), secrets) {
		return fmt.Errorf("terraform printed a minted secret")
	}
	fmt.Println("   the 2 secrets are in state (sensitive) and in none of Terraform's output")

	step("terraform plan: a second plan must be empty")
	code, err := terraform("plan", "-detailed-exitcode", "-input=false", "-no-color")
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("second plan is not empty (exit code %d)", code)
	}
	fmt.Println("   no changes: the plan is empty")

	step("terraform destroy: revoke the keys")
	if err := mustSucceed("destroy", "-auto-approve", "-input=false", "-no-color"); err != nil {
		return err
	}
	if leaked(printed.Bytes(), secrets) {
		return fmt.Errorf("terraform printed a minted secret")
	}

	step("Checking on the emulator that every key is revoked")
	for _, k := range live {
		got, _ := emu.Key(k.ID)
		if emu.IsLive(k.ID) || got.RevokedAt == nil {
			return fmt.Errorf("key %s is still live after destroy", k.ID)
		}
		fmt.Printf("   %s  %-20s revoked at %s\n", k.ID, k.Name, got.RevokedAt.Format("15:04:05"))
	}
	if n := len(emu.LiveKeys()); n != 1 || !emu.IsLive(emu.OrgKeyID()) {
		return fmt.Errorf("%d keys are still live, want only Terraform's credential", n)
	}
	return nil
}

func step(msg string) { fmt.Printf("\n==> %s\n", msg) }

// stateSecrets returns the plaintext keys a state file holds.
func stateSecrets(path string) ([]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading state: %w", err)
	}
	var state struct {
		Resources []struct {
			Type      string `json:"type"`
			Instances []struct {
				Attributes struct {
					Key string `json:"key"`
				} `json:"attributes"`
			} `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(raw, &state); err != nil {
		return nil, fmt.Errorf("reading state: %w", err)
	}
	var out []string
	for _, r := range state.Resources {
		for _, i := range r.Instances {
			if r.Type == "molecule_org_api_key" && i.Attributes.Key != "" {
				out = append(out, i.Attributes.Key)
			}
		}
	}
	return out, nil
}

// leaked reports whether out contains any of the secrets, whole or by their secret part (all but
// the prefix the service shows openly).
func leaked(out []byte, secrets []string) bool {
	for _, s := range secrets {
		if bytes.Contains(out, []byte(s)) || len(s) > 16 && bytes.Contains(out, []byte(s[8:])) {
			return true
		}
	}
	return false
}

func copyTF(src, dst string) error {
	files, err := filepath.Glob(filepath.Join(src, "*.tf"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no .tf files in %s", src)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(f)), b, 0o600); err != nil {
			return err
		}
	}
	return nil
}
