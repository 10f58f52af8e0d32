package main

import (
	"os"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

func TestQuietUnlessTerraformLogs(t *testing.T) {
	unset := func(t *testing.T, vars ...string) {
		t.Helper()
		for _, v := range vars {
			t.Setenv(v, "") // restored when the test ends
			if err := os.Unsetenv(v); err != nil {
				t.Fatal(err)
			}
		}
	}
	all := append([]string{"TF_LOG", "TF_LOG_PROVIDER"}, quietedLogVars...)

	t.Run("Terraform collects no provider logs", func(t *testing.T) {
		unset(t, all...)
		quietUnlessTerraformLogs()
		for _, v := range quietedLogVars {
			if got := os.Getenv(v); got != "off" {
				t.Errorf("%s = %q, want off", v, got)
			}
		}
		for _, v := range []string{"TF_LOG", "TF_LOG_PROVIDER"} {
			if got, ok := os.LookupEnv(v); ok {
				t.Errorf("%s was set to %q", v, got)
			}
		}
	})

	t.Run("empty counts as unset", func(t *testing.T) {
		unset(t, all...)
		t.Setenv("TF_LOG", "")
		t.Setenv("TF_LOG_PROVIDER", "")
		t.Setenv("TF_LOG_SDK_PROTO", "")
		quietUnlessTerraformLogs()
		for _, v := range quietedLogVars {
			if got := os.Getenv(v); got != "off" {
				t.Errorf("%s = %q, want off", v, got)
			}
		}
	})

	for _, kept := range quietedLogVars {
		t.Run("an explicit "+kept+" is kept", func(t *testing.T) {
			unset(t, all...)
			t.Setenv(kept, "WARN")
			quietUnlessTerraformLogs()
			for _, v := range quietedLogVars {
				want := "off"
				if v == kept {
					want = "WARN"
				}
				if got := os.Getenv(v); got != want {
					t.Errorf("%s = %q, want %q", v, got, want)
				}
			}
		})
	}

	for _, collecting := range []string{"TF_LOG", "TF_LOG_PROVIDER"} {
		t.Run("nothing changes with "+collecting+" set", func(t *testing.T) {
			unset(t, all...)
			t.Setenv(collecting, "DEBUG")
			t.Setenv("TF_LOG_SDK_FRAMEWORK", "WARN")
			before := os.Environ()
			quietUnlessTerraformLogs()
			if after := os.Environ(); !slices.Equal(after, before) {
				t.Errorf("the environment changed:\n  before %q\n  after  %q", before, after)
			}
		})
	}
}

// CONTRIBUTING says which variables are silenced and when, in the words of its logging paragraph:
// it names exactly the variables that decide (TF_LOG, TF_LOG_PROVIDER) and those that are set to off.
func TestContributingNamesTheQuietedLogVariables(t *testing.T) {
	contributing, err := os.ReadFile("CONTRIBUTING.md")
	if err != nil {
		t.Fatal(err)
	}
	const start = "When Terraform is not collecting provider logs"
	_, paragraph, ok := strings.Cut(string(contributing), start)
	if !ok {
		t.Fatalf("CONTRIBUTING.md has no paragraph starting %q", start)
	}
	paragraph, _, _ = strings.Cut(paragraph, "\n\n")
	var named []string
	for _, m := range regexp.MustCompile("`(TF_LOG[A-Z_]*)`").FindAllStringSubmatch(paragraph, -1) {
		if !slices.Contains(named, m[1]) {
			named = append(named, m[1])
		}
	}
	want := append([]string{"TF_LOG", "TF_LOG_PROVIDER"}, quietedLogVars...)
	slices.Sort(named)
	slices.Sort(want)
	if !slices.Equal(named, want) {
		t.Errorf("CONTRIBUTING's logging paragraph names %q; the code decides on TF_LOG and TF_LOG_PROVIDER and sets %q to off",
			named, quietedLogVars)
	}
}

func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))

	t.Setenv("GOGC", "")
	tuneGC()
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("with GOGC unset the target is %d, want %d", got, gcPercent)
	}

	t.Setenv("GOGC", "150")
	tuneGC()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set the target became %d: it must be left to GOGC", got)
	}
}
