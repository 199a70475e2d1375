//! A create, never twice. A create is not idempotent: when its outcome is unknown (a timeout,
//! a dropped connection, a 5xx after sending, a success without an id) the record is searched
//! for by its partnerLeadOpportunityId before anything is re-sent; a record found is taken as
//! created, and an `ERR801` after an unknown outcome is most likely our own earlier attempt.

use serde_json::Value;

use super::attempt::{Budget, describe_attempt, describe_attempt_short, failure_of};
use super::{CallError, Client, Created, Report};
use crate::api::contract::Operation;
use crate::api::envelope;
use crate::api::retry::{self, Verdict};

impl Client {
    /// Creates a lead, never twice: an unknown outcome is settled by searching the
    /// partnerLeadOpportunityId before the body is sent again.
    pub async fn create(
        &self,
        body: &Value,
        partner_lead_id: &str,
        report: &mut Report,
    ) -> Result<Created, CallError> {
        let path = Operation::Create.path(self.version, "");
        let mut budget = Budget::default();
        let mut unknown: Option<String> = None;
        loop {
            if self.cancel.is_cancelled() {
                return Err(match unknown {
                    Some(why) => CallError::Unknown(format!(
                        "interrupted after {why}; search 3DS for `{partner_lead_id}` before importing it again"
                    )),
                    None => CallError::Interrupted,
                });
            }
            let Some(answered) = self
                .attempt(Operation::Create, &path, Some(body), report, false)
                .await
            else {
                return Err(match unknown {
                    Some(why) => CallError::Unknown(format!(
                        "interrupted after {why}; search 3DS for `{partner_lead_id}` before importing it again"
                    )),
                    None => CallError::Interrupted,
                });
            };
            let verdict = retry::classify(Operation::Create, &answered.attempt, 0);
            match verdict {
                Verdict::Success => {
                    self.throttle.succeeded();
                    if let Some(id) = answered.body.as_ref().and_then(envelope::created_id) {
                        return Ok(Created {
                            id,
                            confirmed_after: unknown,
                        });
                    }
                    // A 2xx without an id: find out what happened rather than guess.
                    unknown = Some("a success answer without an id".into());
                    if let Some(found) = self
                        .settle(partner_lead_id, unknown.as_deref(), report)
                        .await?
                    {
                        return Ok(found);
                    }
                }
                Verdict::StopRun => return Err(CallError::StopRun(failure_of(answered.attempt))),
                Verdict::Halt(h) => return Err(CallError::Halted(h.describe(&self.base))),
                Verdict::Final => {
                    let failure = failure_of(answered.attempt);
                    // ERR801 after an unknown outcome is most likely our own earlier attempt.
                    if failure.code.as_deref() == Some("ERR801")
                        && unknown.is_some()
                        && let Some(found) = self
                            .settle(partner_lead_id, unknown.as_deref(), report)
                            .await?
                    {
                        return Ok(found);
                    }
                    return Err(CallError::Rejected(failure));
                }
                Verdict::Unknown => {
                    let why = describe_attempt(&answered.attempt);
                    unknown = Some(why.clone());
                    if let Some(found) = self.settle(partner_lead_id, Some(&why), report).await? {
                        return Ok(found);
                    }
                    // Not stored: sending it again is safe.
                }
                Verdict::Retry { .. } => {}
            }
            if let Some(e) = self.unreachable() {
                return Err(e);
            }
            if !budget.spend(&verdict, self.max_retries) {
                return Err(CallError::Exhausted(match &unknown {
                    Some(why) => format!(
                        "gave up after {} requests (last: {why}); a search found no record with partnerLeadOpportunityId `{partner_lead_id}`, so importing the row again is safe",
                        report.attempts
                    ),
                    None => format!(
                        "gave up after {} requests ({})",
                        report.attempts,
                        describe_attempt_short(report)
                    ),
                }));
            }
            if !self.pause(&verdict, budget.retries).await {
                return Err(CallError::Interrupted);
            }
        }
    }

    /// After an unknown outcome: the record holding `partner_lead_id`, if one exists.
    async fn settle(
        &self,
        partner_lead_id: &str,
        why: Option<&str>,
        report: &mut Report,
    ) -> Result<Option<Created>, CallError> {
        let criteria = serde_json::json!({"data": [{"partnerLeadOpportunityId": partner_lead_id}]});
        let found = self
            .call_with(
                Operation::Search,
                &Operation::Search.path(self.version, ""),
                Some(&criteria),
                report,
                true,
            )
            .await
            .and_then(|answer| envelope::search_ids(&answer).map_err(CallError::Unreadable));
        let ids = match found {
            Ok(ids) => ids,
            Err(e @ (CallError::StopRun(_) | CallError::Halted(_))) => return Err(e),
            Err(e) => {
                return Err(CallError::Unknown(format!(
                    "the create's outcome is unknown ({}) and the search to check it failed ({}); search 3DS for `{partner_lead_id}` before importing it again",
                    why.unwrap_or("no answer"),
                    e.message()
                )));
            }
        };
        if ids.len() > 1 {
            return Err(CallError::Unknown(format!(
                "the create's outcome is unknown ({}) and 3DS holds {} records with partnerLeadOpportunityId `{partner_lead_id}` ({}): which one is this row's cannot be told",
                why.unwrap_or("no answer"),
                ids.len(),
                ids.join(", ")
            )));
        }
        Ok(ids.into_iter().next().map(|id| Created {
            id,
            confirmed_after: why.map(str::to_string),
        }))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::api::client::transport::{answer, fake_client, lost, raw};

    fn created(
        id: &str,
    ) -> Result<crate::api::client::transport::Exchange, crate::api::client::transport::Lost> {
        answer(
            201,
            json!({"dsLeadOpportunityId": id, "info": {"success": true, "statusCode": 201}}),
        )
    }

    fn found(
        ids: &[&str],
    ) -> Result<crate::api::client::transport::Exchange, crate::api::client::transport::Lost> {
        answer(
            200,
            json!({"info": {"success": true}, "data": [{"dsLeadOpportunityId": ids}]}),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_create_answered_is_created_once() {
        let (client, fake) = fake_client([created("9YEL-1")]);
        let mut report = Report::default();
        let c = client
            .create(&json!({}), "CRM-1", &mut report)
            .await
            .unwrap();
        assert_eq!(c.id, "9YEL-1");
        assert_eq!(c.confirmed_after, None);
        assert_eq!(
            fake.paths(),
            ["POST /sales/api4partners/v1/leads-opportunities"]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_unknown_create_that_was_stored_is_found_not_sent_again() {
        let (client, fake) = fake_client([lost(true), found(&["9YEL-2"])]);
        let mut report = Report::default();
        let c = client
            .create(&json!({}), "CRM-2", &mut report)
            .await
            .unwrap();
        assert_eq!(c.id, "9YEL-2");
        assert!(c.confirmed_after.unwrap().contains("timed out"));
        let paths = fake.paths();
        assert_eq!(paths.len(), 2);
        assert!(
            paths[1].ends_with("/v0/leads-opportunities/search"),
            "{paths:?}"
        );
        let asked = fake.asked.lock().unwrap();
        assert_eq!(
            asked[1].2,
            Some(json!({"data": [{"partnerLeadOpportunityId": "CRM-2"}]}))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_unknown_create_that_was_not_stored_is_sent_again() {
        let (client, fake) = fake_client([
            answer(503, json!({"error": {"code": "ERR899", "message": "busy"}})),
            found(&[]),
            created("9YEL-3"),
        ]);
        let c = client
            .create(&json!({}), "CRM-3", &mut Report::default())
            .await
            .unwrap();
        assert_eq!(c.id, "9YEL-3");
        assert_eq!(fake.paths().len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn err801_after_an_unknown_outcome_is_our_own_create() {
        let (client, _) = fake_client([
            lost(true),
            found(&[]),
            answer(
                400,
                json!({"error": {"code": "ERR801", "message": "exists"}}),
            ),
            found(&["9YEL-4"]),
        ]);
        let c = client
            .create(&json!({}), "CRM-4", &mut Report::default())
            .await
            .unwrap();
        assert_eq!(c.id, "9YEL-4");
    }

    #[tokio::test(start_paused = true)]
    async fn err801_on_a_first_create_is_a_rejection() {
        let (client, fake) = fake_client([answer(
            400,
            json!({"error": {"code": "ERR801", "message": "exists"}}),
        )]);
        let e = client
            .create(&json!({}), "CRM-5", &mut Report::default())
            .await
            .unwrap_err();
        assert!(matches!(e, CallError::Rejected(f) if f.code.as_deref() == Some("ERR801")));
        assert_eq!(fake.paths().len(), 1, "no search: nothing was unknown");
    }

    #[tokio::test(start_paused = true)]
    async fn an_unreadable_create_answer_is_searched_for() {
        // Not JSON, then a search that finds it: created once.
        let (client, fake) = fake_client([
            raw(201, "{\"dsLeadOpportunityId\": \"9Y"),
            found(&["9YEL-7"]),
        ]);
        let c = client
            .create(&json!({}), "CRM-7", &mut Report::default())
            .await
            .unwrap();
        assert_eq!(c.id, "9YEL-7");
        assert!(c.confirmed_after.unwrap().contains("not JSON"));
        assert_eq!(fake.paths().len(), 2);
        // A search answer of the wrong shape is no proof it is absent: not sent again.
        let (client, fake) = fake_client([
            raw(200, "[]"),
            answer(200, json!({"info": {"success": true}})),
            created("9YEL-8"),
        ]);
        let e = client
            .create(&json!({}), "CRM-8", &mut Report::default())
            .await
            .unwrap_err();
        assert!(
            matches!(&e, CallError::Unknown(m) if m.contains("no list of results")),
            "{e:?}"
        );
        assert_eq!(
            fake.paths().len(),
            2,
            "never re-sent on an unreadable search"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_redirected_create_stops_and_may_be_applied() {
        let (client, fake) = fake_client([Ok(crate::api::client::transport::Exchange {
            status: 303,
            retry_after: None,
            location: Some("/sales/api4partners/v1/leads-opportunities/9YEL-9".into()),
            body: Ok(Vec::new()),
        })]);
        let mut report = Report::default();
        let e = client
            .create(&json!({}), "CRM-9", &mut report)
            .await
            .unwrap_err();
        assert!(
            matches!(&e, CallError::Halted(m) if m.contains("HTTP 303")),
            "{e:?}"
        );
        assert!(report.maybe_applied, "a 303 may answer a stored create");
        assert_eq!(fake.paths().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_create_whose_check_fails_is_unknown_never_resent() {
        let (client, fake) =
            fake_client([lost(true), lost(true), lost(true), lost(true), lost(true)]);
        let e = client
            .create(&json!({}), "CRM-6", &mut Report::default())
            .await
            .unwrap_err();
        assert!(
            matches!(&e, CallError::Unknown(m) if m.contains("CRM-6")),
            "{e:?}"
        );
        let creates = fake
            .paths()
            .iter()
            .filter(|p| p.ends_with("/v1/leads-opportunities"))
            .count();
        assert_eq!(creates, 1, "never sent twice while its fate is unknown");
    }
}
