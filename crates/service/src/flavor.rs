//! Nova flavors: named VM sizes the cloud admin creates and deletes, and
//! every authenticated user reads. nicplane does not size VMs; a server
//! keeps the flavor it was created with, even once that flavor is deleted
//! (as Nova keeps an instance's flavor), so a deleted flavor stays stored,
//! marked deleted.

use crate::{Caller, Service, WriteOptions};
use nicplane_domain::feed::Action;
use nicplane_domain::model::{now, Flavor};
use nicplane_domain::rules;
use nicplane_domain::{Error, Kind, Result};

/// A flavor to create, as Nova's `POST /flavors` gives it (sizes not yet
/// checked).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct FlavorSpec {
    /// None: a new UUID, as Nova.
    pub id: Option<String>,
    pub name: String,
    pub vcpus: i64,
    pub ram: i64,
    pub disk: i64,
    pub ephemeral: i64,
    pub swap: i64,
    pub is_public: bool,
    pub description: Option<String>,
}

impl FlavorSpec {
    /// The flavor, after Nova's checks of each attribute
    /// (`rules::flavor_text_valid`, `rules::flavor_size_valid`).
    pub fn check(&self) -> Result<Flavor> {
        let id = self
            .id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        rules::flavor_text_valid("name", &self.name)?;
        rules::flavor_text_valid("id", &id)?;
        if let Some(d) = &self.description {
            nicplane_domain::types::check_text("description", d)?;
        }
        Ok(Flavor {
            id,
            name: self.name.clone(),
            vcpus: rules::flavor_size_valid("vcpus", self.vcpus, 1)?,
            ram: rules::flavor_size_valid("ram", self.ram, 1)?,
            disk: rules::flavor_size_valid("disk", self.disk, 0)?,
            ephemeral: rules::flavor_size_valid("ephemeral", self.ephemeral, 0)?,
            swap: rules::flavor_size_valid("swap", self.swap, 0)?,
            is_public: self.is_public,
            description: self.description.clone(),
            deleted: false,
        })
    }
}

impl Service {
    /// `flavor_list`: the live flavors; with `deleted`, the deleted ones too
    /// (for the flavor a server was created with).
    pub async fn flavor_list(&self, _caller: &Caller, deleted: bool) -> Result<Vec<Flavor>> {
        self.store.read(move |tx| tx.flavor_list(deleted)).await
    }

    /// `flavor_get`: a live flavor by id.
    pub async fn flavor_get(&self, caller: &Caller, id: &str) -> Result<Flavor> {
        self.flavor_list(caller, false)
            .await?
            .into_iter()
            .find(|f| f.id == id)
            .ok_or_else(|| Error::not_found(Kind::Flavor, id))
    }

    /// `flavor_create` (cloud admin): name and id unique among live flavors.
    pub async fn flavor_create(
        &self,
        caller: &Caller,
        spec: FlavorSpec,
        opts: &WriteOptions,
    ) -> Result<Flavor> {
        let admin = caller.user.is_cloud_admin;
        self.write(caller, opts, move |tx| {
            rules::flavor_manage_allowed(admin, "create")?;
            let flavor = spec.check()?;
            let live = tx.flavor_list(false)?;
            rules::flavor_unique(&live, &flavor.id, &flavor.name)?;
            tx.flavor_insert(&flavor, now().unix_timestamp())?;
            crate::feed::emit(
                tx,
                Kind::Flavor,
                &flavor.id,
                None,
                Action::Create,
                Some(&flavor),
            )?;
            Ok(flavor)
        })
        .await
    }

    /// `flavor_delete` (cloud admin): servers created with it keep it.
    pub async fn flavor_delete(
        &self,
        caller: &Caller,
        id: String,
        opts: &WriteOptions,
    ) -> Result<()> {
        let admin = caller.user.is_cloud_admin;
        self.write(caller, opts, move |tx| {
            rules::flavor_manage_allowed(admin, "delete")?;
            if !tx.flavor_delete(&id, now().unix_timestamp())? {
                return Err(Error::not_found(Kind::Flavor, &id));
            }
            crate::feed::emit_deleted(tx, Kind::Flavor, &id, None)
        })
        .await
    }
}
