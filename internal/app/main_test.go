package app_test

import (
	"os"
	"testing"

	"github.com/dbfleet/dbfleet/internal/testenv"
)

// TestMain checks, after the tests, that every server a test started
// stopped all its loops (goleak, through testenv.Main).
func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
