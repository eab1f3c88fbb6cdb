package forecast

import (
	"fmt"
	"math"
	"strings"
)

// Auto, as a built-in seasonality's Fourier order, lets the history decide
// as Prophet does: yearly when it spans two years, weekly when it spans two
// weeks with spacing under a week, daily when it spans two days with
// spacing under a day.
const Auto = -1

// Default Fourier orders and periods of the built-in seasonalities.
const (
	YearlyOrder  = 10
	WeeklyOrder  = 3
	DailyOrder   = 4
	YearlyPeriod = 365.25
	WeeklyPeriod = 7
	DailyPeriod  = 1
)

// Mode says how a seasonality combines with the trend.
type Mode string

// Seasonality modes.
const (
	Additive       Mode = "additive"
	Multiplicative Mode = "multiplicative"
)

// Growth is the trend's shape.
type Growth string

// Trend shapes: piecewise linear with changepoints, or a constant level.
const (
	Linear Growth = "linear"
	Flat   Growth = "flat"
)

// Scaling is how y is scaled before the fit.
type Scaling string

// Scalings: divide by max|y| (Prophet's default), or map [min, max] to [0, 1].
const (
	AbsMax Scaling = "absmax"
	MinMax Scaling = "minmax"
)

// Seasonality is one periodic component, modelled by Fourier terms
// sin/cos(2 pi n t / Period), n = 1..Order, t in days since the Unix epoch.
type Seasonality struct {
	Name string `json:"name"`
	// Period in days (7 for weekly, 1/24 for hourly).
	Period float64 `json:"period"`
	// Order is the number of Fourier pairs.
	Order int `json:"order"`
	// PriorScale is the standard deviation of the Normal prior on its
	// coefficients; zero means Options.SeasonalityPriorScale.
	PriorScale float64 `json:"prior_scale,omitempty"`
	// Mode is additive or multiplicative; empty means Options.SeasonalityMode.
	Mode Mode `json:"mode,omitempty"`
}

// Options configure a model. Start from DefaultOptions (Prophet's
// defaults); the zero value is not useful.
type Options struct {
	Growth Growth
	// NChangepoints potential trend changepoints are placed evenly over the
	// first ChangepointRange of the history rows.
	NChangepoints    int
	ChangepointRange float64
	// ChangepointPriorScale is the scale tau of the Laplace prior on the
	// slope changes: larger lets the trend bend more.
	ChangepointPriorScale float64
	// SeasonalityPriorScale is the default scale of the Normal prior on
	// seasonality coefficients.
	SeasonalityPriorScale float64
	// SeasonalityMode is the default mode of every seasonality.
	SeasonalityMode Mode
	// Yearly, Weekly and Daily are Fourier orders of the built-in
	// seasonalities: Auto, 0 for off, or an order.
	Yearly, Weekly, Daily int
	// Seasonalities are added to the built-in ones.
	Seasonalities []Seasonality
	// IntervalWidth is the probability mass of the uncertainty interval.
	IntervalWidth float64
	// UncertaintySamples is how many future paths are simulated; 0 gives
	// bands from the observation noise alone.
	UncertaintySamples int
	Scaling            Scaling
	// Seed makes the simulated intervals reproducible.
	Seed uint64
	// MaxIterations bounds the optimiser (L-BFGS major iterations).
	MaxIterations int
}

// DefaultOptions returns Prophet's defaults.
func DefaultOptions() Options {
	return Options{
		Growth:                Linear,
		NChangepoints:         25,
		ChangepointRange:      0.8,
		ChangepointPriorScale: 0.05,
		SeasonalityPriorScale: 10,
		SeasonalityMode:       Additive,
		Yearly:                Auto,
		Weekly:                Auto,
		Daily:                 Auto,
		IntervalWidth:         0.8,
		UncertaintySamples:    1000,
		Scaling:               AbsMax,
		Seed:                  1,
		MaxIterations:         10000,
	}
}

// Validate reports every invalid option at once.
func (o Options) Validate() error {
	var errs []string
	switch o.Growth {
	case Linear, Flat:
	default:
		errs = append(errs, fmt.Sprintf("growth %q: want linear or flat", o.Growth))
	}
	if o.NChangepoints < 0 {
		errs = append(errs, fmt.Sprintf("changepoints %d: must not be negative", o.NChangepoints))
	}
	if !(o.ChangepointRange > 0 && o.ChangepointRange <= 1) {
		errs = append(errs, fmt.Sprintf("changepoint range %g: want a fraction in (0, 1]", o.ChangepointRange))
	}
	if !(o.ChangepointPriorScale > 0) {
		errs = append(errs, fmt.Sprintf("changepoint prior scale %g: must be positive", o.ChangepointPriorScale))
	}
	if !(o.SeasonalityPriorScale > 0) {
		errs = append(errs, fmt.Sprintf("seasonality prior scale %g: must be positive", o.SeasonalityPriorScale))
	}
	if o.SeasonalityMode != Additive && o.SeasonalityMode != Multiplicative {
		errs = append(errs, fmt.Sprintf("seasonality mode %q: want additive or multiplicative", o.SeasonalityMode))
	}
	for _, s := range []struct {
		name  string
		order int
	}{{"yearly", o.Yearly}, {"weekly", o.Weekly}, {"daily", o.Daily}} {
		if s.order < Auto {
			errs = append(errs, fmt.Sprintf("%s seasonality order %d: want auto (-1), 0 (off) or a positive order", s.name, s.order))
		}
	}
	seen := map[string]bool{"yearly": true, "weekly": true, "daily": true}
	for i, s := range o.Seasonalities {
		where := fmt.Sprintf("seasonality %d (%s)", i+1, s.Name)
		if s.Name == "" || strings.ContainsAny(s.Name, " \t\n") {
			errs = append(errs, where+": want a name without spaces")
		} else if seen[s.Name] {
			errs = append(errs, where+": the name is already used")
		}
		seen[s.Name] = true
		if !(s.Period > 0) || math.IsInf(s.Period, 0) {
			errs = append(errs, fmt.Sprintf("%s: period %g days must be positive", where, s.Period))
		}
		if s.Order < 1 {
			errs = append(errs, fmt.Sprintf("%s: Fourier order %d must be at least 1", where, s.Order))
		}
		if s.PriorScale < 0 {
			errs = append(errs, fmt.Sprintf("%s: prior scale %g must not be negative", where, s.PriorScale))
		}
		if s.Mode != "" && s.Mode != Additive && s.Mode != Multiplicative {
			errs = append(errs, fmt.Sprintf("%s: mode %q: want additive or multiplicative", where, s.Mode))
		}
	}
	if !(o.IntervalWidth > 0 && o.IntervalWidth < 1) {
		errs = append(errs, fmt.Sprintf("interval width %g: want a fraction in (0, 1)", o.IntervalWidth))
	}
	if o.UncertaintySamples < 0 {
		errs = append(errs, fmt.Sprintf("uncertainty samples %d: must not be negative", o.UncertaintySamples))
	}
	if o.Scaling != AbsMax && o.Scaling != MinMax {
		errs = append(errs, fmt.Sprintf("scaling %q: want absmax or minmax", o.Scaling))
	}
	if o.MaxIterations < 1 {
		errs = append(errs, fmt.Sprintf("max iterations %d: must be at least 1", o.MaxIterations))
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid forecast options: %s", strings.Join(errs, "; "))
	}
	return nil
}
