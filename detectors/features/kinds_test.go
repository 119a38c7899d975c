package features

import (
	"strings"
	"testing"
)

// Ratio, Mean and Distinct name the kinds of the features by their place
// in the vector; the names say the same (a feature added or moved without
// them would be scaled wrongly by iforest's partial windows, and
// log-scaled wrongly by Transform).
func TestFeatureKinds(t *testing.T) {
	for i, name := range Names {
		ratio := strings.HasSuffix(name, "_ratio") || name == "interarrival_cv" || name == "label_entropy"
		mean := strings.HasPrefix(name, "mean_")
		distinct := strings.Contains(name, "distinct_")
		if Ratio(i) != ratio || Mean(i) != mean || Distinct(i) != distinct {
			t.Errorf("%d %s: Ratio %v Mean %v Distinct %v, want %v %v %v", i, name, Ratio(i), Mean(i), Distinct(i), ratio, mean, distinct)
		}
	}
}
