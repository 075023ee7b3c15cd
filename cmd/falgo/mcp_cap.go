package main

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"sync"

	"github.com/falgo/fal/platform"
)

// spendCap is the spending cap of `falgo mcp`: at most maxCalls runs and
// submits, and at most maxCost spent, over the server's lifetime. Spending
// counts each admitted call at its estimate until it is settled with what
// it billed. Safe for concurrent use.
type spendCap struct {
	maxCost  *big.Rat // nil: no cost cap
	maxCalls int      // 0: no call cap

	mu       sync.Mutex
	calls    int
	spent    *big.Rat // settled costs plus the estimates not yet settled
	currency string   // of the first estimate; later ones must match
}

// newSpendCap parses --max-cost and --max-calls.
func newSpendCap(maxCost string, maxCalls int) (*spendCap, error) {
	b := &spendCap{maxCalls: maxCalls, spent: new(big.Rat)}
	if maxCost != "" {
		r, ok := decimal(maxCost)
		if !ok || r.Sign() < 0 || strings.ContainsAny(maxCost, "eE") {
			return nil, usageErrorf("--max-cost %q: give an amount in the account's currency, such as 0.50", maxCost)
		}
		b.maxCost = r
	}
	return b, nil
}

// limited reports whether any cap is set.
func (b *spendCap) limited() bool { return b.maxCost != nil || b.maxCalls > 0 }

// callEstimate is what one call of an app is expected to cost.
type callEstimate struct {
	amount   *big.Rat
	currency string
	basis    string // how it was estimated, for the agent
}

// reservation is one admitted call: its estimate counts as spent until
// settle replaces it by what the call billed.
type reservation struct {
	b        *spendCap
	estimate *big.Rat // nil when no cost cap is kept
	settled  bool
}

// capView is what a result says about the cap.
type capView struct {
	CallsUsed int    `json:"calls_used"`
	CallsLeft *int   `json:"calls_left,omitempty"`
	Spent     string `json:"spent"`
	MaxCost   string `json:"max_cost,omitempty"`
	CostLeft  string `json:"cost_left,omitempty"`
	Currency  string `json:"currency,omitempty"`
	// Note says what Spent holds.
	Note string `json:"note,omitempty"`
}

// view reports the cap's state.
func (b *spendCap) view() capView {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.viewLocked()
}

func (b *spendCap) viewLocked() capView {
	v := capView{CallsUsed: b.calls, Spent: formatDecimal(b.spent), Currency: b.currency,
		Note: "spent counts each call admitted by this server at its estimate until it completes, then at what it billed"}
	if b.maxCalls > 0 {
		left := max(b.maxCalls-b.calls, 0)
		v.CallsLeft = &left
	}
	if b.maxCost != nil {
		v.MaxCost = formatDecimal(b.maxCost)
		left := new(big.Rat).Sub(b.maxCost, b.spent)
		if left.Sign() < 0 {
			left.SetInt64(0)
		}
		v.CostLeft = formatDecimal(left)
	}
	return v
}

// leftText says what is left, for a refusal.
func (v capView) leftText() string {
	var parts []string
	if v.CallsLeft != nil {
		parts = append(parts, fmt.Sprintf("%s left", plural(*v.CallsLeft, "call")))
	}
	if v.MaxCost != "" {
		parts = append(parts, fmt.Sprintf("%s of %s left", money(v.CostLeft, v.Currency), money(v.MaxCost, v.Currency)))
	}
	return strings.Join(parts, ", ")
}

// admit reserves one call at est (nil when no cost cap is set), or refuses
// it with the reason and what is left.
func (b *spendCap) admit(est *callEstimate) (*reservation, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.maxCalls > 0 && b.calls >= b.maxCalls {
		return nil, fmt.Errorf("refused by the spending cap: this server has made its %s (--max-calls %d); %s; nothing was sent",
			plural(b.calls, "call"), b.maxCalls, b.viewLocked().leftText())
	}
	r := &reservation{b: b}
	if b.maxCost != nil {
		if b.currency != "" && !strings.EqualFold(b.currency, est.currency) {
			return nil, fmt.Errorf("refused by the spending cap: the estimate is in %s, but --max-cost counts %s; nothing was sent", est.currency, b.currency)
		}
		next := new(big.Rat).Add(b.spent, est.amount)
		if next.Cmp(b.maxCost) > 0 {
			cur := est.currency
			return nil, fmt.Errorf("refused by the spending cap: the call is estimated at %s (%s), and %s is already spent of --max-cost %s; %s; nothing was sent",
				money(formatDecimal(est.amount), cur), est.basis, money(formatDecimal(b.spent), cur), money(formatDecimal(b.maxCost), cur), b.viewLocked().leftText())
		}
		b.spent, b.currency, r.estimate = next, est.currency, est.amount
	}
	b.calls++
	return r, nil
}

// settle replaces the call's estimate by what it billed, when known (nil
// keeps the estimate). Only the first settle counts.
func (r *reservation) settle(cost *big.Rat) {
	if r == nil {
		return
	}
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	if r.settled || cost == nil || r.estimate == nil {
		r.settled = r.settled || cost != nil
		return
	}
	r.settled = true
	r.b.spent.Sub(r.b.spent, r.estimate)
	r.b.spent.Add(r.b.spent, cost)
}

// release gives the call back: fal refused it, so nothing was queued.
func (r *reservation) release() {
	if r == nil {
		return
	}
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	if r.settled {
		return
	}
	r.settled = true
	r.b.calls--
	if r.estimate != nil {
		r.b.spent.Sub(r.b.spent, r.estimate)
	}
}

// estimateCall estimates one call of app for the cost cap: the larger of
// fal's historical price per call and one billing unit at the unit price,
// whichever are known.
func (m *mcpServer) estimateCall(ctx context.Context, app string) (*callEstimate, error) {
	var best *callEstimate
	var whys []string
	lctx, cancel := context.WithTimeout(ctx, platformLookupTimeout)
	defer cancel()
	if est, err := m.s.quick.Estimate(lctx, platform.EstimateRequest{Calls: map[string]int{app: 1}}); err == nil {
		if r, ok := decimal(est.TotalCost.String()); ok {
			best = &callEstimate{amount: r, currency: est.Currency, basis: "fal's historical price per call"}
		}
	} else {
		whys = append(whys, oneLine(err.Error()))
	}
	if p, err := m.s.price(lctx, app); err == nil {
		if r, ok := decimal(p.UnitPrice.String()); ok && (best == nil || (strings.EqualFold(best.currency, p.Currency) && r.Cmp(best.amount) > 0)) {
			best = &callEstimate{amount: r, currency: p.Currency, basis: "one " + unitName(p.Unit) + " at the unit price"}
		}
	} else {
		whys = append(whys, oneLine(err.Error()))
	}
	if best == nil {
		return nil, fmt.Errorf("refused by the spending cap: --max-cost is set and the cost of a call of %s cannot be estimated (%s); nothing was sent", app, strings.Join(whys, "; "))
	}
	return best, nil
}

// unitName is a billing unit for a sentence, "unit" when fal named none.
func unitName(u string) string {
	if u == "" {
		return "unit"
	}
	return strings.TrimSuffix(u, "s")
}
