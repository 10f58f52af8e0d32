// Command terraform-provider-molecule serves the Molecule AI Terraform provider.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/molecule-ai/terraform-provider-molecule/internal/provider"
)

// version is set at build time with -ldflags "-X main.version=<version>".
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers such as delve")
	flag.Parse()

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/molecule-ai/molecule",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err)
	}
}
