//! Jobs: the outcome of adding or removing a VM's NICs as one job (the
//! Huawei ECS `nics` and `jobs` APIs).
//!
//! The NICs really go through the core's `interface::attach_tx` and
//! `interface::detach_tx`, all of one request in one transaction (all or
//! none). The job row is written in that same transaction when it succeeds;
//! when a rule refuses the change (interface limit, a running Windows VM, an
//! address or VLAN in use, an exhausted subnet) the transaction rolls back and
//! a `FAIL` job with the reason is recorded instead. Requests that cannot
//! start at all (unknown VM or network, malformed input, the primary NIC, no
//! permission) are answered directly with an error, as the ECS API does.
//!
//! Jobs run synchronously: by the time the job id is answered the job is
//! `SUCCESS` or `FAIL` (never `INIT`/`RUNNING`).

use crate::feed::emit;
use crate::interface::{self, AttachSpec};
use crate::vm::VmDetail;
use crate::{Caller, Need, Service, WriteOptions};
use nicplane_domain::feed::Action;
use nicplane_domain::ids::*;
use nicplane_domain::model::{now, Timestamp};
use nicplane_domain::{ConflictReason, Error, Kind, Result};
use nicplane_store::JobRow;
use serde::{Deserialize, Serialize};

/// Job type of adding NICs.
pub const JOB_ADD_NICS: &str = "batchAddNics";
/// Job type of removing NICs.
pub const JOB_DELETE_NICS: &str = "batchDeleteNics";
/// Sub-job type of adding one NIC.
pub const SUB_JOB_ATTACH: &str = "attachNic";
/// Sub-job type of removing one NIC.
pub const SUB_JOB_DETACH: &str = "detachNic";
/// Job status: done, changes kept.
pub const SUCCESS: &str = "SUCCESS";
/// Job status: refused, nothing changed.
pub const FAIL: &str = "FAIL";

/// One NIC of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubJob {
    pub status: String,
    pub job_type: String,
    pub nic_id: Option<InterfaceId>,
    pub error_code: Option<String>,
    pub fail_reason: Option<String>,
}

/// What a job acted on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobEntities {
    pub server_id: Option<VmId>,
    pub sub_jobs: Vec<SubJob>,
}

/// A job and its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: JobId,
    pub project_id: ProjectId,
    pub job_type: String,
    pub status: String,
    pub entities: JobEntities,
    /// The domain error code of a failed job (e.g. `InterfaceLimitReached`).
    pub error_code: Option<String>,
    pub fail_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub begin_time: Timestamp,
    #[serde(with = "time::serde::rfc3339::option")]
    pub end_time: Option<Timestamp>,
}

impl Job {
    fn to_row(&self) -> Result<JobRow> {
        Ok(JobRow {
            id: self.id,
            project_id: self.project_id.clone(),
            job_type: self.job_type.clone(),
            status: self.status.clone(),
            entities: serde_json::to_string(&self.entities)
                .map_err(|e| Error::internal(format!("cannot store a job: {e}")))?,
            error_code: self.error_code.clone(),
            fail_reason: self.fail_reason.clone(),
            begin_time: self.begin_time,
            end_time: self.end_time,
        })
    }

    fn from_row(r: JobRow) -> Result<Job> {
        Ok(Job {
            id: r.id,
            project_id: r.project_id,
            job_type: r.job_type,
            status: r.status,
            entities: serde_json::from_str(&r.entities)
                .map_err(|e| Error::internal(format!("unreadable job entities: {e}")))?,
            error_code: r.error_code,
            fail_reason: r.fail_reason,
            begin_time: r.begin_time,
            end_time: r.end_time,
        })
    }
}

/// Whether a refusal becomes a `FAIL` job (a rule of the core said no)
/// rather than an error answer (the request could not start). The primary
/// NIC is checked before a job is queued, as ECS does.
pub fn fails_as_job(e: &Error) -> bool {
    match e {
        Error::Conflict { reason, .. } => *reason != ConflictReason::PrimaryInterface,
        Error::CapacityExhausted { .. } => true,
        _ => false,
    }
}

/// What a NIC job does.
enum NicWork {
    Add(Vec<AttachSpec>),
    Remove(Vec<InterfaceId>),
}

impl Service {
    /// `vm_nics_add`: add NICs to a VM as one job.
    pub async fn vm_nics_add(
        &self,
        caller: &Caller,
        project: &ProjectId,
        vm: VmId,
        nics: Vec<AttachSpec>,
    ) -> Result<Job> {
        if nics.is_empty() {
            return Err(Error::invalid("Give at least one NIC to add."));
        }
        nicplane_domain::rules::bulk_bound("nics", nics.len())?;
        self.nic_job(caller, project, vm, NicWork::Add(nics)).await
    }

    /// `vm_nics_remove`: remove NICs from a VM as one job.
    pub async fn vm_nics_remove(
        &self,
        caller: &Caller,
        project: &ProjectId,
        vm: VmId,
        nics: Vec<InterfaceId>,
    ) -> Result<Job> {
        if nics.is_empty() {
            return Err(Error::invalid("Give at least one NIC to remove."));
        }
        nicplane_domain::rules::bulk_bound("nics", nics.len())?;
        self.nic_job(caller, project, vm, NicWork::Remove(nics))
            .await
    }

    async fn nic_job(
        &self,
        caller: &Caller,
        project: &ProjectId,
        vm: VmId,
        work: NicWork,
    ) -> Result<Job> {
        let id = JobId::new();
        let begin = now();
        let (limit, policy) = (self.config.interface_limit, self.port_policy(caller));
        let job_type = match &work {
            NicWork::Add(_) => JOB_ADD_NICS,
            NicWork::Remove(_) => JOB_DELETE_NICS,
        };
        let sub_type = match &work {
            NicWork::Add(_) => SUB_JOB_ATTACH,
            NicWork::Remove(_) => SUB_JOB_DETACH,
        };
        let work = std::sync::Arc::new(work);
        let w = work.clone();
        let done = self
            .project_write(
                caller,
                project,
                Need::Write,
                &WriteOptions::default(),
                move |tx, p| {
                    interface::owned_vm(tx, p, vm)?;
                    let mut nic_ids = Vec::new();
                    match &*w {
                        NicWork::Add(specs) => {
                            for s in specs {
                                let i = interface::attach_tx(tx, p, vm, s, limit, policy)?;
                                emit(tx, Kind::Interface, i.id, Some(p), Action::Attach, Some(&i))?;
                                nic_ids.push(i.id);
                            }
                        }
                        NicWork::Remove(ids) => {
                            for i in ids {
                                let i = interface::detach_tx(tx, p, vm, *i)?;
                                emit(tx, Kind::Interface, i.id, Some(p), Action::Detach, Some(&i))?;
                                nic_ids.push(i.id);
                            }
                        }
                    }
                    let job = Job {
                        id,
                        project_id: p.clone(),
                        job_type: job_type.into(),
                        status: SUCCESS.into(),
                        entities: JobEntities {
                            server_id: Some(vm),
                            sub_jobs: nic_ids
                                .into_iter()
                                .map(|n| SubJob {
                                    status: SUCCESS.into(),
                                    job_type: sub_type.into(),
                                    nic_id: Some(n),
                                    error_code: None,
                                    fail_reason: None,
                                })
                                .collect(),
                        },
                        error_code: None,
                        fail_reason: None,
                        begin_time: begin,
                        end_time: Some(now()),
                    };
                    tx.job_insert(&job.to_row()?)?;
                    emit(tx, Kind::Job, job.id, Some(p), Action::Create, Some(&job))?;
                    Ok(job)
                },
            )
            .await;
        let err = match done {
            Ok(job) => return Ok(job),
            Err(e) if fails_as_job(&e) => e,
            Err(e) => return Err(e),
        };
        let sub_nics: Vec<Option<InterfaceId>> = match &*work {
            NicWork::Add(specs) => specs.iter().map(|s| s.interface_id).collect(),
            NicWork::Remove(ids) => ids.iter().copied().map(Some).collect(),
        };
        let job = Job {
            id,
            project_id: project.clone(),
            job_type: job_type.into(),
            status: FAIL.into(),
            entities: JobEntities {
                server_id: Some(vm),
                sub_jobs: sub_nics
                    .into_iter()
                    .map(|n| SubJob {
                        status: FAIL.into(),
                        job_type: sub_type.into(),
                        nic_id: n,
                        error_code: Some(err.code().into()),
                        fail_reason: Some(err.to_string()),
                    })
                    .collect(),
            },
            error_code: Some(err.code().into()),
            fail_reason: Some(err.to_string()),
            begin_time: begin,
            end_time: Some(now()),
        };
        let row = job.to_row()?;
        let job_view = job.clone();
        self.project_write(
            caller,
            project,
            Need::Write,
            &WriteOptions::default(),
            move |tx, p| {
                tx.job_insert(&row)?;
                emit(tx, Kind::Job, id, Some(p), Action::Create, Some(&job_view))
            },
        )
        .await?;
        Ok(job)
    }

    /// `job_get`: a job of the project.
    pub async fn job_get(&self, caller: &Caller, project: &ProjectId, id: JobId) -> Result<Job> {
        let row = self
            .project_read(caller, project, Need::Read, move |tx, p| {
                match tx.job_get(id)? {
                    Some(j) if &j.project_id == p => Ok(j),
                    _ => Err(Error::not_found(Kind::Job, id)),
                }
            })
            .await?;
        Job::from_row(row)
    }

    /// `vm_interface_quota`: a VM with its interfaces and how many more it
    /// may have under the deployment's interface limit.
    pub async fn vm_interface_quota(
        &self,
        caller: &Caller,
        project: &ProjectId,
        vm: VmId,
    ) -> Result<(VmDetail, u32)> {
        let d = self.vm_get(caller, project, vm).await?;
        let free = self
            .config
            .interface_limit
            .saturating_sub(d.vm.interface_count);
        Ok((d, free))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_refusals_become_failed_jobs_but_the_primary_nic_does_not() {
        let limit = Error::conflict(ConflictReason::InterfaceLimitReached, "full");
        assert!(fails_as_job(&limit));
        assert!(fails_as_job(&Error::conflict(
            ConflictReason::VmMustBeStopped,
            "stop"
        )));
        assert!(fails_as_job(&Error::exhausted("no address")));
        assert!(!fails_as_job(&Error::conflict(
            ConflictReason::PrimaryInterface,
            "primary"
        )));
        assert!(!fails_as_job(&Error::not_found(Kind::Vm, "x")));
        assert!(!fails_as_job(&Error::invalid("bad")));
    }
}
