// Package forecast is a Prophet-style time-series model in Go: a piecewise
// linear trend with changepoints under a Laplace prior, Fourier
// seasonalities (daily, weekly, yearly and custom), a MAP fit with gonum's
// L-BFGS and simulated uncertainty intervals. It follows facebook/prophet's
// model (prophet.stan, forecaster.py) closely enough to reach its published
// accuracy; docs/forecast.md describes the model and its figures.
//
// On top of the model it answers the two questions dbfleet asks of a
// metric: is the current value normal compared with history (Compare, a
// z-score against the forecast band), and when will a growing quantity
// reach a capacity (DaysUntilFull). CrossValidate and PerformanceMetrics
// reproduce Prophet's diagnostics; ReadCSV and WriteCSV serve the offline
// `dbfleet forecast` command.
//
// The package is pure computation: no I/O besides the CSV helpers, no
// global state; randomness comes from Options.Seed.
package forecast
