package main

import (
	"slices"
	"strings"
	"testing"
)

// A go test -json stream with every outcome the summary must tell apart, as cmd/test2json writes
// them: the skip reasons are t.Skip's messages, continuation lines included.
const stream = `{"Action":"run","Test":"TestPass"}
{"Action":"output","Test":"TestPass","Output":"=== RUN   TestPass\n"}
{"Action":"output","Test":"TestPass","Output":"--- PASS: TestPass (0.01s)\n"}
{"Action":"pass","Test":"TestPass","Elapsed":0.01}
{"Action":"run","Test":"TestFeature"}
{"Action":"output","Test":"TestFeature","Output":"=== RUN   TestFeature\n"}
{"Action":"output","Test":"TestFeature","Output":"    feature_test.go:12: set up\n"}
{"Action":"output","Test":"TestFeature","Output":"    feature_test.go:14: OpenTofu 1.12.6 cannot do actions\n"}
{"Action":"output","Test":"TestFeature","Output":"        (OpenTofu has no version of it)\n"}
{"Action":"output","Test":"TestFeature","Output":"--- SKIP: TestFeature (0.00s)\n"}
{"Action":"skip","Test":"TestFeature","Elapsed":0}
{"Action":"run","Test":"TestSilent"}
{"Action":"output","Test":"TestSilent","Output":"=== RUN   TestSilent\n"}
{"Action":"output","Test":"TestSilent","Output":"--- SKIP: TestSilent (0.00s)\n"}
{"Action":"skip","Test":"TestSilent","Elapsed":0}
{"Action":"run","Test":"TestParent"}
{"Action":"run","Test":"TestParent/ok"}
{"Action":"pass","Test":"TestParent/ok","Elapsed":0}
{"Action":"run","Test":"TestParent/broken"}
{"Action":"output","Test":"TestParent/broken","Output":"    x_test.go:3: boom\n"}
{"Action":"fail","Test":"TestParent/broken","Elapsed":0}
{"Action":"fail","Test":"TestParent","Elapsed":0}
{"Action":"run","Test":"TestOwnFailure"}
{"Action":"run","Test":"TestOwnFailure/ok"}
{"Action":"pass","Test":"TestOwnFailure/ok","Elapsed":0}
{"Action":"fail","Test":"TestOwnFailure","Elapsed":0}
{"Action":"run","Test":"TestHangs"}
{"Action":"output","Test":"TestHangs","Output":"=== RUN   TestHangs\n"}
{"Action":"output","Output":"panic: test timed out after 1s\n"}
{"Action":"fail","Elapsed":1}
`

func TestTally(t *testing.T) {
	r := &run{tests: map[string]*result{}, skipReasons: map[string][]string{}}
	if !r.read(strings.NewReader(stream), false) {
		t.Error("the package failed, but read did not say so")
	}
	r.tally()

	if want := []string{"TestPass", "TestParent/ok", "TestOwnFailure/ok"}; !slices.Equal(r.passed, want) {
		t.Errorf("passed = %q, want %q", r.passed, want)
	}
	if want := []string{"TestFeature", "TestSilent"}; !slices.Equal(r.skipped, want) {
		t.Errorf("skipped = %q, want %q", r.skipped, want)
	}
	// TestParent fails through its subtest and so counts once; TestOwnFailure fails by itself.
	if want := []string{"TestParent/broken", "TestOwnFailure", "TestHangs (never finished)"}; !slices.Equal(r.failed, want) {
		t.Errorf("failed = %q, want %q", r.failed, want)
	}
	reason := "OpenTofu 1.12.6 cannot do actions (OpenTofu has no version of it)"
	if got := r.skipReasons[reason]; !slices.Equal(got, []string{"TestFeature"}) {
		t.Errorf("skip reasons = %q, want TestFeature under %q", r.skipReasons, reason)
	}
	if !slices.Equal(r.unexplained, []string{"TestSilent"}) {
		t.Errorf("unexplained skips = %q, want TestSilent", r.unexplained)
	}
	if r.ok() {
		t.Error("a run with failures and an unexplained skip counts as ok")
	}
}
