//! The formats the contract declares, as both judges read them: `date-time` and `date` as JSON
//! Schema defines them (RFC 3339 §5.6: a `T` between date and time, an offset), and the ISO
//! 4217 currency codes that `currency`'s description names (REFERENCE.md §5.2; its schema checks
//! only the pattern `^[A-Z]{3}$`).

/// An RFC 3339 date-time as JSON Schema's `date-time` means it: `2025-06-01T18:46:51.326Z`.
/// RFC 3339 lets applications use a space for the `T`; the schema's grammar does not, and 3DS
/// answers 406 `ERR805` for anything but ISO 8601 (REFERENCE.md §4.1), so a space is refused.
pub fn is_date_time(s: &str) -> bool {
    matches!(s.as_bytes().get(10), Some(b'T' | b't'))
        && chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

/// A plain `YYYY-MM-DD` date (JSON Schema's `date`), as the v1 offer-line dates are.
pub fn is_date(s: &str) -> bool {
    s.len() == 10 && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

/// The active codes of ISO 4217 (list one), with the fund and precious-metal codes the
/// standard also lists.
pub const CURRENCIES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN",
    "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUP", "CVE", "CZK",
    "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS",
    "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD",
    "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD",
    "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT",
    "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK",
    "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD",
    "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP",
    "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS",
    "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES", "VND", "VUV", "WST",
    "XAF", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XCD", "XCG", "XDR", "XOF", "XPD", "XPF",
    "XPT", "XSU", "XUA", "YER", "ZAR", "ZMW", "ZWG",
];

/// Whether `code` is an ISO 4217 currency.
pub fn is_currency(code: &str) -> bool {
    CURRENCIES.binary_search(&code).is_ok()
}

/// The known codes closest to `code` (one letter off), for "did you mean" hints.
pub fn closest_currencies(code: &str) -> Vec<&'static str> {
    let code = code.to_ascii_uppercase();
    CURRENCIES
        .iter()
        .copied()
        .filter(|c| {
            c.len() == code.len()
                && c.bytes().zip(code.bytes()).filter(|(a, b)| a != b).count() == 1
        })
        .take(3)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times_need_their_t() {
        assert!(is_date_time("2025-06-01T18:46:51.326Z"));
        assert!(is_date_time("2025-06-01T18:46:51+02:00"));
        assert!(!is_date_time("2025-06-01 18:46:51Z"));
        assert!(!is_date_time("2025-06-01"));
        assert!(!is_date_time("31.12.2025"));
        assert!(is_date("2025-06-01"));
        assert!(!is_date("2025-6-1"));
    }

    #[test]
    fn currencies() {
        assert!(
            CURRENCIES.windows(2).all(|w| w[0] < w[1]),
            "sorted, once each"
        );
        assert!(is_currency("EUR") && is_currency("USD") && is_currency("JPY"));
        assert!(!is_currency("XYZ") && !is_currency("EURO") && !is_currency("eur"));
        assert_eq!(closest_currencies("EUX"), ["EUR"]);
        assert!(closest_currencies("USS").contains(&"USD"));
    }
}
