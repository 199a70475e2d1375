//! The sandbox's sales-portfolio catalogue: a few thousand items shaped like the contract's
//! example (`CLASS00001_ONPR_CATIAV4_SOL000038`), the same on every start so that paging tests
//! and demonstrations can count on it.

use serde_json::{Value, json};

/// How many items the catalogue holds: the contract's example `estimatedSearchCount`.
pub const CATALOGUE_SIZE: usize = 3049;

const BRANDS: &[(&str, &[&str])] = &[
    (
        "CATIA",
        &[
            "CATIA V4",
            "CATIA V5",
            "CATIA V6",
            "CATIA Design",
            "CATIA Systems Engineering",
        ],
    ),
    (
        "SOLIDWORKS",
        &[
            "SOLIDWORKS Desktop",
            "SOLIDWORKS Simulation",
            "SOLIDWORKS PDM",
            "SOLIDWORKS Electrical",
        ],
    ),
    (
        "ENOVIA",
        &[
            "ENOVIA V6",
            "ENOVIA SmarTeam",
            "ENOVIA Collaborative Innovation",
        ],
    ),
    (
        "SIMULIA",
        &[
            "Abaqus",
            "Isight",
            "fe-safe",
            "CST Studio Suite",
            "PowerFLOW",
        ],
    ),
    (
        "DELMIA",
        &[
            "DELMIA Apriso",
            "DELMIA Quintiq",
            "DELMIA Ortems",
            "DELMIA Works",
        ],
    ),
    (
        "3DEXPERIENCE",
        &[
            "Simulation",
            "Design",
            "Manufacturing",
            "Collaboration",
            "Data Science",
        ],
    ),
    (
        "BIOVIA",
        &["Discovery Studio", "Materials Studio", "Pipeline Pilot"],
    ),
    ("GEOVIA", &["Surpac", "GEMS", "Minex"]),
    ("3DEXCITE", &["DELTAGEN", "Creative Experience"]),
    ("CENTRIC PLM", &["Centric 8", "Centric Visual Boards"]),
    ("NETVIBES", &["Exalead", "Data Intelligence"]),
    ("MEDIDATA", &["Rave EDC", "Clinical Cloud"]),
];

const DOMAINS: &[&str] = &[
    "MANUFACTURING",
    "DESIGN",
    "ENGINEERING",
    "Design to Manufacturing Process",
    "SIMULATION",
    "DATA MANAGEMENT",
    "PROJECT MANAGEMENT",
    "QUALITY",
];

const TYPES: &[&str] = &["Brand", "Product", "Solution", "Role", "Industry Process"];

/// Item number `i` (0-based) of the catalogue.
pub fn item(i: usize) -> Value {
    let (brand, products) = BRANDS[i % BRANDS.len()];
    let product = products[(i / BRANDS.len()) % products.len()];
    let domain = DOMAINS[(i / 7) % DOMAINS.len()];
    let on_prem = !i.is_multiple_of(3);
    let short: String = product
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect::<String>()
        .to_ascii_uppercase();
    json!({
        "salesPortfolioType": TYPES[(i / 11) % TYPES.len()],
        "salesPortfolioInfrastructure": if on_prem { "On Premise" } else { "On Cloud" },
        "salesPortfolioisOrderable": !i.is_multiple_of(13),
        "salesPortfolioLevel1": brand,
        "salesPortfolioLevel2": product,
        "salesPortfolioLevel3": domain,
        "salesPortfolioId": format!(
            "CLASS{:05}_{}_{}_SOL{:06}",
            i % 5 + 1,
            if on_prem { "ONPR" } else { "CLD" },
            short,
            i + 1
        ),
    })
}

/// Items `skip .. skip + top`, clipped to the catalogue.
pub fn page(skip: usize, top: usize) -> Vec<Value> {
    let end = skip.saturating_add(top).min(CATALOGUE_SIZE);
    (skip.min(end)..end).map(item).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique() {
        let ids: std::collections::HashSet<String> = page(0, CATALOGUE_SIZE)
            .iter()
            .map(|v| v["salesPortfolioId"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids.len(), CATALOGUE_SIZE);
    }

    #[test]
    fn items_have_the_contract_fields() {
        let mut keys: Vec<String> = item(0).as_object().unwrap().keys().cloned().collect();
        let mut want: Vec<String> = crate::api::contract::PORTFOLIO_ITEM_FIELDS
            .iter()
            .map(|s| s.to_string())
            .collect();
        keys.sort();
        want.sort();
        assert_eq!(keys, want);
    }
}
