// Package iforest is an isolation forest (Liu, Ting and Zhou, 2008) and the
// multivariate detector that scores per-host window feature vectors with
// it (rule outlier.multivariate). See README.md.
package iforest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Node is one tree node, stored flat: leaves have Feature = -1.
type Node struct {
	Feature int     `json:"f"`
	Split   float64 `json:"s,omitempty"`
	Left    int32   `json:"l,omitempty"`
	Right   int32   `json:"r,omitempty"`
	Size    int     `json:"n,omitempty"` // leaf: training points that reached it
	// Lo and Hi bound the split feature among the node's training rows: a
	// point outside them is isolated by this node (range check).
	Lo float64 `json:"lo,omitempty"`
	Hi float64 `json:"hi,omitempty"`
}

// Tree is a flat isolation tree; node 0 is the root.
type Tree struct {
	Nodes []Node `json:"nodes"`
}

// Forest is a trained isolation forest.
type Forest struct {
	Trees  []Tree `json:"trees"`
	Sample int    `json:"sample"`
	Dim    int    `json:"dim"`
	Seed   uint64 `json:"seed"`
	// Margin is the range-check margin (see Tree.PathLength).
	Margin float64 `json:"margin"`
	// Threshold calibration: scores of the training set at these quantiles.
	Q50 float64 `json:"q50"`
	Q99 float64 `json:"q99"`
	Max float64 `json:"max"`
}

// Check rejects a forest read from a file (a model, a checkpoint) that
// scoring would loop on or index out of range with: no trees, a sample
// below 2, another number of features than dim, a node linking back (a
// cycle) or past its tree, a split on a feature out of range.
func (f *Forest) Check(dim int) error {
	if f.Dim != dim {
		return fmt.Errorf("forest of %d features, this build has %d", f.Dim, dim)
	}
	if len(f.Trees) == 0 || f.Sample < 2 {
		return fmt.Errorf("forest: %d trees of sample %d, need 1 or more of 2 or more", len(f.Trees), f.Sample)
	}
	for t := range f.Trees {
		ns := f.Trees[t].Nodes
		if len(ns) == 0 {
			return fmt.Errorf("forest tree %d has no nodes", t)
		}
		for i, n := range ns {
			// children follow their parent (no cycles)
			leaf := n.Feature < 0 && n.Size >= 0
			split := n.Feature >= 0 && n.Feature < dim && int(n.Left) > i && int(n.Left) < len(ns) && int(n.Right) > i && int(n.Right) < len(ns)
			if !leaf && !split {
				return fmt.Errorf("forest tree %d node %d: feature %d, links %d/%d, size %d out of range", t, i, n.Feature, n.Left, n.Right, n.Size)
			}
		}
	}
	return nil
}

// Params tunes Fit.
type Params struct {
	Trees  int    // default 100
	Sample int    // subsample size ψ, default 256
	Seed   uint64 // the forest is a pure function of data and seed
	// Margin for the range check: 0 means the default 0.5, negative
	// disables it (classic isolation forest, as scikit-learn).
	Margin float64
}

// Fit trains a forest on X (rows of equal length, already transformed); its
// quantiles are those of X's scores.
func Fit(X [][]float64, p Params) (*Forest, error) {
	f, err := grow(X, p)
	if err != nil {
		return nil, err
	}
	f.calibrate(X)
	return f, nil
}

// calibrate sets the score quantiles (informational: Q50, Q99, Max) from
// the scores of X and returns them.
func (f *Forest) calibrate(X [][]float64) []float64 {
	scores := make([]float64, len(X))
	f.ScoreBatch(X, scores)
	f.Q50, f.Q99, f.Max = quantile(scores, 0.5), quantile(scores, 0.99), quantile(scores, 1)
	return scores
}

// grow builds the trees of a forest on X, without its quantiles.
func grow(X [][]float64, p Params) (*Forest, error) {
	if len(X) < 2 {
		return nil, errors.New("iforest: need at least 2 training vectors")
	}
	if p.Trees <= 0 {
		p.Trees = 100
	}
	if p.Sample <= 0 {
		p.Sample = 256
	}
	psi := min(p.Sample, len(X))
	dim := len(X[0])
	rng := rand.New(rand.NewPCG(p.Seed, p.Seed^0x9e3779b97f4a7c15))
	limit := int(math.Ceil(math.Log2(float64(psi))))
	if p.Margin == 0 {
		p.Margin = 0.5
	}
	f := &Forest{Sample: psi, Dim: dim, Seed: p.Seed, Margin: p.Margin}
	idx := make([]int, len(X))
	for i := range idx {
		idx[i] = i
	}
	for t := 0; t < p.Trees; t++ {
		// partial Fisher-Yates: first psi are the sample
		for i := 0; i < psi; i++ {
			j := i + rng.IntN(len(idx)-i)
			idx[i], idx[j] = idx[j], idx[i]
		}
		sample := append([]int(nil), idx[:psi]...)
		tr := Tree{}
		build(&tr, X, sample, 0, limit, dim, rng)
		f.Trees = append(f.Trees, tr)
	}
	return f, nil
}

func build(tr *Tree, X [][]float64, rows []int, depth, limit, dim int, rng *rand.Rand) int32 {
	id := int32(len(tr.Nodes))
	tr.Nodes = append(tr.Nodes, Node{Feature: -1, Size: len(rows)})
	if depth >= limit || len(rows) <= 1 {
		return id
	}
	// pick a feature with spread among these rows; try each once in random order
	perm := rng.Perm(dim)
	for _, q := range perm {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, r := range rows {
			v := X[r][q]
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		if hi <= lo {
			continue
		}
		s := lo + rng.Float64()*(hi-lo)
		var left, right []int
		for _, r := range rows {
			if X[r][q] < s {
				left = append(left, r)
			} else {
				right = append(right, r)
			}
		}
		l := build(tr, X, left, depth+1, limit, dim, rng)
		rr := build(tr, X, right, depth+1, limit, dim, rng)
		tr.Nodes[id] = Node{Feature: q, Split: s, Left: l, Right: rr, Lo: lo, Hi: hi}
		return id
	}
	return id // all rows identical: a leaf
}

// cTable holds c(n) for the leaf sizes a default forest has (n ≤ ψ = 256),
// so scoring does not take a logarithm at every leaf.
var cTable = func() (t [257]float64) {
	for n := range t {
		t[n] = cSlow(n)
	}
	return t
}()

// c is the average path length of an unsuccessful BST search over n points.
func c(n int) float64 {
	if n >= 0 && n < len(cTable) {
		return cTable[n]
	}
	return cSlow(n)
}

func cSlow(n int) float64 {
	if n <= 1 {
		return 0
	}
	if n == 2 {
		return 1
	}
	fn := float64(n)
	return 2*(math.Log(fn-1)+0.5772156649) - 2*(fn-1)/fn
}

// PathLength is the depth at which x is isolated in t. With margin ≥ 0, a
// point outside a node's training range of its split feature, widened by
// margin × range on each side, is isolated by that node (range check); a
// negative margin gives the classic path length.
func (t *Tree) PathLength(x []float64, margin float64) float64 {
	i, d := int32(0), 0.0
	for {
		n := &t.Nodes[i]
		if n.Feature < 0 {
			return d + c(n.Size)
		}
		if m := margin * (n.Hi - n.Lo); margin >= 0 && n.Hi > n.Lo && (x[n.Feature] < n.Lo-m || x[n.Feature] > n.Hi+m) {
			return d + 1
		}
		if x[n.Feature] < n.Split {
			i = n.Left
		} else {
			i = n.Right
		}
		d++
	}
}

// Score is the anomaly score s(x) = 2^(-E[h(x)]/c(ψ)) in (0, 1]: near 1 is
// anomalous, around 0.5 or below is normal.
func (f *Forest) Score(x []float64) float64 {
	if len(f.Trees) == 0 {
		return 0
	}
	var sum float64
	for i := range f.Trees {
		sum += f.Trees[i].PathLength(x, f.Margin)
	}
	e := sum / float64(len(f.Trees))
	return math.Pow(2, -e/c(f.Sample))
}

// ScoreBatch sets out[i] = Score(X[i]) for many points, tree by tree over
// blocks of scoreBlock points: one tree's nodes (about 28 KB; a default
// forest is about 2.8 MB, more than a core's cache) and the block's points
// stay in cache, where Score walks every tree for each point. Each point's
// path lengths are summed over the trees in the same order as in Score, so
// results are identical.
func (f *Forest) ScoreBatch(X [][]float64, out []float64) {
	out = out[:len(X)]
	if len(f.Trees) == 0 {
		clear(out)
		return
	}
	cs := c(f.Sample)
	var sums [scoreBlock]float64
	for len(X) > 0 {
		n := min(len(X), scoreBlock)
		clear(sums[:n])
		for t := range f.Trees {
			tr := &f.Trees[t]
			for i, x := range X[:n] {
				sums[i] += tr.PathLength(x, f.Margin)
			}
		}
		for i, sum := range sums[:n] {
			out[i] = math.Pow(2, -(sum/float64(len(f.Trees)))/cs)
		}
		X, out = X[n:], out[n:]
	}
}

// ScoreBatchAbove is ScoreBatch for a caller that needs a point's score
// only when it is at least least (the detector: only windows it flags):
// every 8 trees, a point whose path lengths so far rule that out, even if
// each remaining tree isolated it as early as that tree can (rest, from
// MinPaths), is left there, its out an upper bound of its score, below
// least. The other points' scores are ScoreBatch's, bit for bit. Most
// windows are plainly normal and leave after a quarter of the trees.
func (f *Forest) ScoreBatchAbove(X [][]float64, out []float64, least float64, rest []float64) {
	if least <= 0 || len(f.Trees) == 0 || len(rest) != len(f.Trees)+1 {
		f.ScoreBatch(X, out)
		return
	}
	out = out[:len(X)]
	cs, T := c(f.Sample), float64(len(f.Trees))
	// a mean path length above cut/T scores below least (2^(-h/cs) falls
	// as h grows); the margin keeps rounding from deciding
	cut := -cs*math.Log2(least)*T*(1+1e-9) + 1e-9
	var sums [scoreBlock]float64
	var idx [scoreBlock]int32
	for len(X) > 0 {
		n := min(len(X), scoreBlock)
		clear(sums[:n])
		active := idx[:n]
		for i := range active {
			active[i] = int32(i)
		}
		for t := range f.Trees {
			tr := &f.Trees[t]
			for _, i := range active {
				sums[i] += tr.PathLength(X[i], f.Margin)
			}
			if (t+1)%8 != 0 || t+1 == len(f.Trees) {
				continue
			}
			k := 0
			for _, i := range active {
				if h := sums[i] + rest[t+1]; h > cut {
					out[i] = math.Pow(2, -(h/T)/cs)
					continue
				}
				active[k] = i
				k++
			}
			active = active[:k]
		}
		for _, i := range active {
			out[i] = math.Pow(2, -(sums[i]/T)/cs)
		}
		X, out = X[n:], out[n:]
	}
}

// MinPaths is, for each tree t, the least total path length trees t and
// after can give any point (a leaf's depth and c of its size, or a split's
// depth + 1 when the range check can isolate there), and 0 after the
// last: ScoreBatchAbove's bounds.
func (f *Forest) MinPaths() []float64 {
	rest := make([]float64, len(f.Trees)+1)
	for t := len(f.Trees) - 1; t >= 0; t-- {
		rest[t] = rest[t+1] + f.Trees[t].minPath(f.Margin)
	}
	return rest
}

// minPath is the least path length of any point in t. A tree read from a
// file may share a node among several parents (Check refuses only links
// back or out of range), so the nodes are visited once each, in order
// (children follow their parents), at the least depth any path reaches
// them: walking every path would take 2^k steps for k splits that share
// their children, and a path reaching a node deeper is never shorter.
func (t *Tree) minPath(margin float64) float64 {
	depth := make([]float64, len(t.Nodes))
	for i := range depth {
		depth[i] = math.Inf(1)
	}
	depth[0] = 0
	least := math.Inf(1)
	for i := range t.Nodes {
		n, d := &t.Nodes[i], depth[i]
		if math.IsInf(d, 1) {
			continue // not reached from the root
		}
		if n.Feature < 0 {
			least = min(least, d+c(n.Size))
			continue
		}
		if margin >= 0 && n.Hi > n.Lo {
			least = min(least, d+1)
		}
		for _, k := range [2]int32{n.Left, n.Right} {
			if int(k) <= i || int(k) >= len(t.Nodes) {
				return 0 // not a tree Check accepts: no bound
			}
			depth[k] = min(depth[k], d+1)
		}
	}
	return least
}

// scoreBlock points of ~20 features (about 160 KB) and a tree fit in a
// core's L2 cache.
const scoreBlock = 1024

func quantile(x []float64, q float64) float64 {
	s := append([]float64(nil), x...)
	sortFloats(s)
	if len(s) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(s)))) - 1
	if i < 0 {
		i = 0
	}
	return s[i]
}
