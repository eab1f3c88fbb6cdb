// Command dbfleet is the dbfleet server and its command-line client.
package main

import (
	"os"

	"github.com/dbfleet/dbfleet/internal/cli"
)

func main() { os.Exit(cli.Main()) }
