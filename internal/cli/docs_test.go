package cli

import (
	"os"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestDocsCoverEveryCommand keeps docs/cli.md true: every command and every
// flag of it must be documented there.
func TestDocsCoverEveryCommand(t *testing.T) {
	doc, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	root := (&env{environ: os.Environ()}).rootCmd()
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			if sub.Runnable() {
				n++
				path := sub.CommandPath()
				if !strings.Contains(text, "`"+path) {
					t.Errorf("docs/cli.md does not document %q", path)
				}
				sub.LocalFlags().VisitAll(func(f *pflag.Flag) {
					if !strings.Contains(text, "--"+f.Name) {
						t.Errorf("docs/cli.md does not mention flag --%s of %q", f.Name, path)
					}
				})
			}
			walk(sub)
		}
	}
	walk(root)
	if n < 30 {
		t.Fatalf("walked only %d commands", n)
	}
}
