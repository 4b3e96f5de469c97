package cpuemu

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// C's printf, as CUDA's device-side printf formats: the conversions
// CUDA documents (%c %d %i %o %u %x %X %p %e %E %f %g %G %a %A %s %%)
// with flags, width, precision (either may be *) and the h, hh, l and
// ll length modifiers. Go's fmt differs from C in enough places (%g's
// default precision, %a's exponent, %p, the # flag, padding of inf and
// nan) that every conversion is done here, on strconv's exactly
// rounded digits.

// printfMem is where a printf reads its arguments and strings.
type printfMem interface {
	// arg reads the next argument, of size bytes (4 or 8), at the next
	// offset of the argument buffer aligned to its size.
	arg(size int) uint64
	// cstring reads the NUL-terminated string at generic address addr,
	// at most max bytes of it; ok says a NUL came within them.
	cstring(addr uint64, max int) (s []byte, ok bool)
}

// maxPrintfArgs is the most arguments CUDA's printf takes after the
// format; a conversion past them is printed as it stands.
const maxPrintfArgs = 32

// printfSpec is one conversion specification:
// %[flags][width][.precision][length]conversion.
type printfSpec struct {
	minus, plus, space, alt, zero bool
	width                         int64
	prec                          int64
	precSet                       bool
	length                        string // "", "hh", "h", "l" or "ll"
	conv                          byte
}

// printfConversions are the conversions CUDA documents.
const printfConversions = "cdiouxXpeEfgGaAs"

// maxSpecNumber caps a width or precision written in a format, beyond
// any buffer's size.
const maxSpecNumber = 1 << 31

// formatPrintf formats a printf's format and arguments as C's printf does
// (glibc where C leaves it open: "(nil)", "(null)", the sign of a NaN,
// %a's leading digit), with CUDA's rules on top: at most maxPrintfArgs
// arguments, after which each conversion is printed as it stands, and
// any other conversion (%n, %F, %Lf, ...) printed as it stands without
// taking an argument. A length modifier on c or s is ignored, as CUDA's
// device printf has no wide characters: %lc, %hc, ... print the int
// argument's low byte as %c does, and %ls, %lls, %hs, ... take a pointer
// to bytes and print them as %s does. It returns the text and the number
// of arguments read. Output past limit bytes is not made: over says
// there was more.
// strMax bounds each %s string that has no precision: a longer one
// cannot fit the buffer, and makes over true.
func formatPrintf(format []byte, mem printfMem, limit, strMax int) (text []byte, nargs int, over bool) {
	out := &printfOut{limit: limit}
	for i := 0; i < len(format); {
		if format[i] != '%' {
			j := i + 1
			for j < len(format) && format[j] != '%' {
				j++
			}
			out.write(format[i:j])
			i = j
			continue
		}
		start := i
		i++
		var sp printfSpec
	flags:
		for ; i < len(format); i++ {
			switch format[i] {
			case '-':
				sp.minus = true
			case '+':
				sp.plus = true
			case ' ':
				sp.space = true
			case '#':
				sp.alt = true
			case '0':
				sp.zero = true
			default:
				break flags
			}
		}
		widthArg, precArg := false, false
		if i < len(format) && format[i] == '*' {
			widthArg = true
			i++
		} else {
			sp.width, i = specNumber(format, i)
		}
		if i < len(format) && format[i] == '.' {
			sp.precSet = true
			i++
			if i < len(format) && format[i] == '*' {
				precArg = true
				i++
			} else {
				sp.prec, i = specNumber(format, i)
			}
		}
		for _, l := range []string{"hh", "h", "ll", "l"} {
			if strings.HasPrefix(string(format[i:min(i+2, len(format))]), l) {
				sp.length = l
				i += len(l)
				break
			}
		}
		if i >= len(format) {
			out.write(format[start:]) // a conversion cut off by the end
			break
		}
		sp.conv = format[i]
		i++
		spec := format[start:i]
		if sp.conv == '%' {
			out.write([]byte{'%'})
			continue
		}
		need := 1
		if widthArg {
			need++
		}
		if precArg {
			need++
		}
		if strings.IndexByte(printfConversions, sp.conv) < 0 || nargs+need > maxPrintfArgs {
			out.write(spec)
			continue
		}
		nargs += need
		if widthArg {
			if w := int64(int32(mem.arg(4))); w < 0 {
				sp.minus, sp.width = true, -w
			} else {
				sp.width = w
			}
		}
		if precArg {
			p := int64(int32(mem.arg(4)))
			sp.precSet, sp.prec = p >= 0, max(p, 0)
		}
		switch sp.conv {
		case 'c':
			out.field(&sp, "", "", string([]byte{byte(mem.arg(4))}), false)
		case 's':
			p := mem.arg(8)
			switch {
			case p == 0 && (!sp.precSet || sp.prec >= 6):
				out.field(&sp, "", "", "(null)", false)
			case p == 0:
				out.field(&sp, "", "", "", false)
			case sp.precSet && sp.prec <= int64(strMax):
				s, _ := mem.cstring(p, int(sp.prec))
				out.field(&sp, "", "", string(s), false)
			default:
				s, ok := mem.cstring(p, strMax+1)
				if !ok {
					out.over = true
					continue
				}
				out.field(&sp, "", "", string(s), false)
			}
		case 'p':
			v := mem.arg(8)
			if v == 0 {
				out.field(&sp, "", "", "(nil)", false)
				continue
			}
			sp.alt = true
			formatInt(out, &sp, 'x', v, false)
		case 'd', 'i', 'o', 'u', 'x', 'X':
			size := 4
			if sp.length == "l" || sp.length == "ll" {
				size = 8
			}
			v := mem.arg(size)
			signed := sp.conv == 'd' || sp.conv == 'i'
			nb := 64 // l, ll
			switch sp.length {
			case "hh":
				nb = 8
			case "h":
				nb = 16
			case "":
				nb = 32
			}
			v = trunc(v, nb)
			if signed {
				v = uint64(sext(v, nb))
			}
			neg := signed && int64(v) < 0
			if neg {
				v = -v
			}
			formatInt(out, &sp, sp.conv, v, neg)
		default: // e E f g G a A
			formatFloat(out, &sp, math.Float64frombits(mem.arg(8)))
		}
	}
	return out.b, nargs, out.over
}

// specNumber reads the decimal number at format[i:], capped at
// maxSpecNumber.
func specNumber(format []byte, i int) (int64, int) {
	var n int64
	for ; i < len(format) && format[i] >= '0' && format[i] <= '9'; i++ {
		n = min(n*10+int64(format[i]-'0'), maxSpecNumber)
	}
	return n, i
}

// printfOut is a printf's text, bounded: what would pass limit is not
// made, and over says so.
type printfOut struct {
	b     []byte
	limit int
	over  bool
}

// fits reports whether n more bytes fit, and marks the output over when
// they do not.
func (o *printfOut) fits(n int64) bool {
	if o.over || int64(len(o.b))+n > int64(o.limit) {
		o.over = true
		return false
	}
	return true
}

func (o *printfOut) write(s []byte) {
	if o.fits(int64(len(s))) {
		o.b = append(o.b, s...)
	}
}

// field writes one conversion's text in its width: sign and prefix
// ("0x"), then body, padded with spaces on the left, or on the right
// with the - flag, or with zeros after the prefix with the 0 flag when
// zeroOK.
func (o *printfOut) field(sp *printfSpec, sign, prefix, body string, zeroOK bool) {
	n := int64(len(sign) + len(prefix) + len(body))
	pad := max(sp.width-n, 0)
	if !o.fits(n + pad) {
		return
	}
	spaces := func() {
		for range pad {
			o.b = append(o.b, ' ')
		}
	}
	switch {
	case sp.minus:
		o.b = append(append(append(o.b, sign...), prefix...), body...)
		spaces()
	case sp.zero && zeroOK:
		o.b = append(append(o.b, sign...), prefix...)
		for range pad {
			o.b = append(o.b, '0')
		}
		o.b = append(o.b, body...)
	default:
		spaces()
		o.b = append(append(append(o.b, sign...), prefix...), body...)
	}
}

// formatInt writes magnitude v for an integer conversion (d i o u x X;
// %p as x with the # flag), negative when neg.
func formatInt(o *printfOut, sp *printfSpec, conv byte, v uint64, neg bool) {
	base := 10
	switch conv {
	case 'o':
		base = 8
	case 'x', 'X':
		base = 16
	}
	if sp.precSet && !o.fits(sp.prec) {
		return // at least prec digits: they cannot fit
	}
	digits := strconv.FormatUint(v, base)
	if conv == 'X' {
		digits = strings.ToUpper(digits)
	}
	if sp.precSet && sp.prec == 0 && v == 0 {
		digits = ""
	}
	if sp.precSet && int64(len(digits)) < sp.prec {
		digits = strings.Repeat("0", int(sp.prec)-len(digits)) + digits
	}
	prefix := ""
	switch {
	case conv == 'o' && sp.alt && !strings.HasPrefix(digits, "0"):
		digits = "0" + digits
	case conv == 'x' && sp.alt && v != 0:
		prefix = "0x"
	case conv == 'X' && sp.alt && v != 0:
		prefix = "0X"
	}
	sign := ""
	if conv == 'd' || conv == 'i' || sp.conv == 'p' { // glibc signs %p too
		sign = signOf(sp, neg)
	}
	o.field(sp, sign, prefix, digits, !sp.precSet)
}

// signOf is the sign a signed conversion prints: -, or + and space as
// the flags ask.
func signOf(sp *printfSpec, neg bool) string {
	switch {
	case neg:
		return "-"
	case sp.plus:
		return "+"
	case sp.space:
		return " "
	}
	return ""
}

// maxGDigits is more significant digits than any double has (767), so
// %g with a larger precision prints the same as with this one.
const maxGDigits = 800

// formatFloat writes x for a floating-point conversion (e E f g G a A).
func formatFloat(o *printfOut, sp *printfSpec, x float64) {
	conv := sp.conv
	upper := conv == 'E' || conv == 'G' || conv == 'A'
	sign := signOf(sp, math.Signbit(x))
	if math.IsInf(x, 0) || math.IsNaN(x) {
		body := "inf"
		if math.IsNaN(x) {
			body = "nan"
		}
		if upper {
			body = strings.ToUpper(body)
		}
		o.field(sp, sign, "", body, false)
		return
	}
	x = math.Abs(x)
	prec := sp.prec
	if !sp.precSet {
		prec = 6
	}
	// Every form but %g without # prints at least prec digits.
	if (conv != 'g' && conv != 'G' || sp.alt) && !o.fits(prec) {
		return
	}
	var body, prefix string
	switch conv {
	case 'f':
		body = strconv.FormatFloat(x, 'f', int(prec), 64)
		if sp.alt && prec == 0 {
			body += "."
		}
	case 'e', 'E':
		body = strconv.FormatFloat(x, 'e', int(prec), 64)
		if sp.alt && prec == 0 {
			body = strings.Replace(body, "e", ".e", 1)
		}
	case 'g', 'G':
		body = formatG(x, prec, sp.alt)
	case 'a', 'A':
		prefix, body = "0x", formatHexFloat(x, prec, sp.precSet, sp.alt)
	}
	if upper {
		prefix, body = strings.ToUpper(prefix), strings.ToUpper(body)
	}
	o.field(sp, sign, prefix, body, true)
}

// formatG is C's %g of x >= 0 with precision p: %e with p-1 digits
// after the point when its exponent X is below -4 or at least p, else %f
// with p-1-X; then, without #, no trailing zeros and no lone point.
func formatG(x float64, p int64, alt bool) string {
	if p == 0 {
		p = 1
	}
	if !alt {
		p = min(p, maxGDigits)
	}
	e := strconv.FormatFloat(x, 'e', int(p-1), 64)
	exp := 0
	if x != 0 {
		exp, _ = strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	}
	s, tail := e, ""
	if int64(exp) < p && exp >= -4 {
		s = strconv.FormatFloat(x, 'f', int(p-1-int64(exp)), 64)
	} else {
		k := strings.IndexByte(e, 'e')
		s, tail = e[:k], e[k:]
	}
	switch {
	case !alt && strings.IndexByte(s, '.') >= 0:
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	case alt && strings.IndexByte(s, '.') < 0:
		s += "."
	}
	return s + tail
}

// formatHexFloat is C's %a of x >= 0 without its "0x": a leading digit
// (1 for normal numbers, 0 for zero and subnormals, whose exponent is
// then -1022, as glibc prints them), the 52-bit fraction in hex, with
// every digit but the trailing zeros when no precision is given, else
// rounded to prec digits (to nearest, ties to even; a carry makes the
// leading digit 2, as glibc leaves it), and the binary exponent.
func formatHexFloat(x float64, prec int64, precSet, alt bool) string {
	b := math.Float64bits(x)
	exp, frac := int(b>>52&0x7ff), b&(1<<52-1)
	lead := uint64(1)
	switch {
	case exp == 0 && frac == 0:
		lead = 0
	case exp == 0:
		lead, exp = 0, -1022
	default:
		exp -= 1023
	}
	var digits string
	switch {
	case !precSet:
		digits = strings.TrimRight(fmt.Sprintf("%013x", frac), "0")
	case prec < 13:
		shift := uint(4 * (13 - prec))
		v := lead<<52 | frac
		rest := v & (1<<shift - 1)
		v >>= shift
		if half := uint64(1) << (shift - 1); rest > half || rest == half && v&1 == 1 {
			v++
		}
		lead = v >> (4 * prec)
		if prec > 0 {
			digits = fmt.Sprintf("%0*x", prec, v&(1<<(4*prec)-1))
		}
	default:
		digits = fmt.Sprintf("%013x", frac) + strings.Repeat("0", int(prec-13))
	}
	s := strconv.FormatUint(lead, 16)
	if digits != "" || alt {
		s += "." + digits
	}
	return fmt.Sprintf("%sp%+d", s, exp)
}
