//! The enumerations of the API4Partners contract, per API version, as plain string tables.
//!
//! One table serves three readers: the sandbox checks request bodies against it, the offline
//! validator checks spreadsheet cells against it, and `template` turns it into dropdowns. Keeping
//! the values as `&str` (not Rust enums) lets all three report the exact spelling the user typed
//! and suggest the closest allowed one. Lists are the complete ones of the OpenAPI file [Y]; the
//! v1 offer-line values come from the rendered documentation [R] (REFERENCE.md §6).

/// `leadOpportunity.status`, in LEVERAGE order.
pub const STATUS: &[&str] = &[
    "LEAD_OPEN",
    "QUALIFIED",
    "ACCEPTED",
    "OPPY_OPEN",
    "VALIDATED",
    "ESTABLISHED",
    "WON",
    "LOST",
];

/// Lead stages: any `forecastCategory` sent with these is ignored at creation.
pub const LEAD_STATUSES: &[&str] = &["LEAD_OPEN", "QUALIFIED", "ACCEPTED"];

/// `leadOpportunity.forecastCategory`.
pub const FORECAST_CATEGORY: &[&str] = &[
    "UPSIDE", "COMMIT", "SAFE", "WON", "LOST", "LONGSHOT", "EMPTY",
];

/// Forecast categories a partner may choose for an open opportunity (REFERENCE.md §7).
pub const FORECAST_CATEGORY_OPEN_OPPY: &[&str] = &["SAFE", "COMMIT", "UPSIDE", "LONGSHOT"];

/// `leadOpportunity.reasonWon[]`. Note `PRTNR_SKILL_&_EXPRT` carries an ampersand.
pub const REASON_WON: &[&str] = &[
    "SOLUTION_FUNCT",
    "STRNG_VAL_PROP",
    "LWR_CST_OF_OWNRSHIP",
    "LWR_IMPL_COST",
    "GOOD_CSTMR_REFER",
    "OFFR_TRM_CONDN",
    "LWR_SFTWR_COSTS",
    "STRONG_CLIENT_RELATION",
    "DS_SKILLS_EXPERTISE",
    "PRTNR_SKILL_&_EXPRT",
    "PRTNR_RELTNSHIP",
    "SALE_OPP_ACT",
    "IT_DRVN_ACT",
    "EMPTY",
];

/// `leadOpportunity.reasonLost[]`.
pub const REASON_LOST: &[&str] = &[
    "BETTER_COMP_OFFER",
    "CLIENT_DOES_NOT_SEE_VALUE",
    "LACK_OR_LOSS_OF_CHAMPION",
    "FUNC_GAP",
    "HIGH_IMPLEM_COST",
    "LACK_OF_REF",
    "OFFER_DOES_NOT_MATCH_NEEDS",
    "QUALITY_ISSUE",
    "DS_SKILLS_SUPPORT_ISSUE",
    "PARTNER_SKILL_SUPPORT",
    "REL_LEVEL_ISSUE",
    "SOFT_COST_TOO_HIGH",
    "TERMS_COND_ISSUE",
    "COST_OF_SALES_TOO_HIGH",
    "LACK_OF_SKILLS_TO_SUPPORT",
    "LACK_OF_TECH_RESOURCES",
    "NOT_A_DS_PRIORITY",
    "NOT_A_PARTNER_PRIORITY",
    "CLIENT_BANKRUPT_OR_ACQUIRED",
    "CLIENT_HAS_NO_MORE_NEED",
    "CLIENT_HAS_NO_MORE_BUDGET",
    "DUP_COPY",
    "IT_DRIVEN_ACTIVITIES",
    "LOST_TO_ANOTHER_PARTNER",
    "SALESOPS_ACTIVITIES",
    "TERRITORY_REJECT",
    "INADEQUATE_REF",
    "WRONG_PARTNER_OR_DS_SALES",
    "MISSING_INFORMATION",
    "INCORRECT_CHANNEL",
    "UNMOVABLE_COMPET",
    "OPPY_ALREADY_EXISTS",
    "NO_PROJECT",
    "IMMATURE_PROJECT",
    "DUP_LEAD",
    "DUP_OPPY",
    "CUST_BNKRUPT",
    "NVR_SUCCEED_RECHN_CUST",
    "NT_ENG_RLVNT_EVD_CUST",
    "ROI_NT_VIBLE",
    "VLD_CUST_EXPLNTN",
    "MERGED",
    "EMPTY",
];

/// v0 `offerLines[].revenueType` (deprecated in [R], complete in [Y]).
pub const REVENUE_TYPE_V0: &[&str] = &[
    "UPFRONT",
    "RENTAL_BOOKING",
    "SUPPORT_SERVICES",
    "SERVICES_SIGNING",
    "EMPTY",
];

/// v1 request-side `offerLines[].revenueType`; `PxC` is the server's default.
pub const REVENUE_TYPE_V1: &[&str] = &["PxC", "YxC", "QxC"];

/// v1 revenue types that take an offer-line `startDate`/`endDate`.
pub const REVENUE_TYPE_V1_DATED: &[&str] = &["YxC", "QxC"];

/// The defaults the server applies at creation (REFERENCE.md §7).
pub const DEFAULT_REASON_WON: &str = "STRNG_VAL_PROP";
pub const DEFAULT_REASON_LOST: &str = "NO_PROJECT";
pub const DEFAULT_REVENUE_TYPE_V1: &str = "PxC";

/// The forecast category the server stores for a new record, given the status and what was
/// sent.
///
/// # Errors
/// The allowed values, when the sent one is not allowed for that status (REFERENCE.md §7).
pub fn forecast_category_at_creation(
    status: &str,
    sent: Option<&str>,
) -> Result<&'static str, &'static [&'static str]> {
    match status {
        "WON" => Ok("WON"),
        "LOST" => Ok("LOST"),
        s if LEAD_STATUSES.contains(&s) => Ok("EMPTY"),
        _ => match sent {
            None => Ok("UPSIDE"),
            Some(v) => FORECAST_CATEGORY_OPEN_OPPY
                .iter()
                .find(|allowed| **allowed == v)
                .copied()
                .ok_or(FORECAST_CATEGORY_OPEN_OPPY),
        },
    }
}

/// Finds `value` in `allowed`, exactly.
pub fn is_member(allowed: &[&str], value: &str) -> bool {
    allowed.contains(&value)
}

/// The allowed value closest to `value`, for "did you mean" hints: a case- and
/// punctuation-insensitive match first, then the smallest edit distance if it is small.
pub fn closest<'a>(allowed: &[&'a str], value: &str) -> Option<&'a str> {
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric() || *c == '&')
            .flat_map(char::to_lowercase)
            .collect()
    };
    let wanted = norm(value);
    if wanted.is_empty() {
        return None;
    }
    if let Some(hit) = allowed.iter().find(|a| norm(a) == wanted) {
        return Some(hit);
    }
    let (best, dist) = allowed
        .iter()
        .map(|a| (*a, edit_distance(&norm(a), &wanted)))
        .min_by_key(|(_, d)| *d)?;
    (dist <= wanted.chars().count().div_ceil(3)).then_some(best)
}

/// Levenshtein distance over chars; inputs here are short (enum values, header names).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_sizes_match_the_contract() {
        assert_eq!(STATUS.len(), 8);
        assert_eq!(FORECAST_CATEGORY.len(), 7);
        assert_eq!(REASON_WON.len(), 14);
        assert_eq!(REASON_LOST.len(), 43);
        assert_eq!(REVENUE_TYPE_V0.len(), 5);
    }

    #[test]
    fn forecast_matrix() {
        assert_eq!(
            forecast_category_at_creation("LEAD_OPEN", Some("COMMIT")),
            Ok("EMPTY")
        );
        assert_eq!(
            forecast_category_at_creation("OPPY_OPEN", None),
            Ok("UPSIDE")
        );
        assert_eq!(
            forecast_category_at_creation("VALIDATED", Some("SAFE")),
            Ok("SAFE")
        );
        assert!(forecast_category_at_creation("ESTABLISHED", Some("WON")).is_err());
        assert_eq!(
            forecast_category_at_creation("WON", Some("COMMIT")),
            Ok("WON")
        );
    }

    #[test]
    fn closest_suggests() {
        assert_eq!(closest(STATUS, "lead open"), Some("LEAD_OPEN"));
        assert_eq!(closest(STATUS, "QUALIFED"), Some("QUALIFIED"));
        assert_eq!(closest(REVENUE_TYPE_V1, "pxc"), Some("PxC"));
        assert_eq!(closest(STATUS, "banana"), None);
    }
}
