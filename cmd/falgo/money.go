package main

import (
	"encoding/json"
	"math/big"
	"sort"
	"strconv"
	"strings"
)

// Money is printed from the decimal text fal sent (json.Number), never
// through a float64: a price of 0.003 stays "0.003", and a sum or a product
// is computed exactly with big.Rat and printed in full (a product of two
// decimals always has a finite decimal form).

// decimal parses a decimal number as fal writes it ("0.003", "2", "1e-3").
func decimal(s string) (*big.Rat, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

// unitsDecimal turns a number of billable units (fal's X-Fal-Billable-Units,
// which the client keeps as a float64) back into the decimal it was
// written as: the shortest text that reads back as the same float64, which
// for a header such as "1.05" is "1.05".
func unitsDecimal(u float64) (*big.Rat, string) {
	s := strconv.FormatFloat(u, 'f', -1, 64)
	r, _ := new(big.Rat).SetString(s)
	return r, s
}

// formatDecimal prints r in decimal notation: exactly when it has a finite
// decimal form of at most 30 decimals (a product or sum of fal's decimals
// always has one), else rounded to 12 decimals; trailing zeros dropped.
func formatDecimal(r *big.Rat) string {
	prec := 12
	if d, ok := finiteDecimals(r); ok && d <= 30 {
		prec = d
	}
	s := r.FloatString(prec)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// finiteDecimals returns how many decimals r needs when its denominator
// has no prime factor but 2 and 5.
func finiteDecimals(r *big.Rat) (int, bool) {
	d := new(big.Int).Set(r.Denom())
	two, five := big.NewInt(2), big.NewInt(5)
	var m big.Int
	twos, fives := 0, 0
	for {
		if m.Mod(d, two).Sign() != 0 {
			break
		}
		d.Quo(d, two)
		twos++
	}
	for {
		if m.Mod(d, five).Sign() != 0 {
			break
		}
		d.Quo(d, five)
		fives++
	}
	if d.Cmp(big.NewInt(1)) != 0 {
		return 0, false
	}
	return max(twos, fives), true
}

// money prints an amount with its currency: "$0.00315" for USD, "0.5 EUR"
// otherwise, "0.5" when fal named no currency.
func money(amount, currency string) string {
	switch strings.ToUpper(currency) {
	case "USD":
		if strings.HasPrefix(amount, "-") {
			return "-$" + amount[1:]
		}
		return "$" + amount
	case "":
		return amount
	}
	return amount + " " + currency
}

// numberText is a json.Number as fal wrote it, or "-" when it sent none.
func numberText(n json.Number) string {
	if n == "" {
		return "-"
	}
	return n.String()
}

// moneyTotals sums amounts by currency, exactly; amounts that are not
// numbers are skipped and counted.
type moneyTotals struct {
	sums    map[string]*big.Rat
	skipped int
}

func (t *moneyTotals) add(amount json.Number, currency string) {
	r, ok := decimal(amount.String())
	if !ok {
		t.skipped++
		return
	}
	if t.sums == nil {
		t.sums = map[string]*big.Rat{}
	}
	s := t.sums[currency]
	if s == nil {
		s = new(big.Rat)
		t.sums[currency] = s
	}
	s.Add(s, r)
}

// String is "$0.011" or "$0.011 + 0.5 EUR"; "" when nothing was added.
func (t *moneyTotals) String() string {
	curs := make([]string, 0, len(t.sums))
	for c := range t.sums {
		curs = append(curs, c)
	}
	sort.Strings(curs)
	parts := make([]string, 0, len(curs))
	for _, c := range curs {
		parts = append(parts, money(formatDecimal(t.sums[c]), c))
	}
	return strings.Join(parts, " + ")
}
