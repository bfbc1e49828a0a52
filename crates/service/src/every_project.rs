//! Lists that span every project, for the caller whose lists do (the cloud
//! admin, `rules::acts_across_projects`; Neutron's admin lists all): pages
//! read through the store in id order (`Query::paginate`, never `OFFSET`),
//! so no list reads the whole cloud. Floating IPs and routers have theirs
//! beside their use cases (`public_ip_list_every_project`,
//! `router_list_every_project`).

use crate::network::NetworkDetail;
use crate::{Caller, Service};
use nicplane_domain::model::*;
use nicplane_domain::query::{InterfaceFilter, NetworkFilter};
use nicplane_domain::{rules, Error, Result};
use nicplane_store::PageRequest;

fn across(caller: &Caller, what: &str) -> Result<()> {
    if !rules::acts_across_projects(caller.user.is_cloud_admin) {
        return Err(Error::forbidden(format!(
            "Only the cloud admin lists every project's {what}."
        )));
    }
    Ok(())
}

impl Service {
    /// `network_list_every_project`: a page (by id) of every project's
    /// networks with their subnets.
    pub async fn network_list_every_project(
        &self,
        caller: &Caller,
        mut filter: NetworkFilter,
        page: PageRequest,
    ) -> Result<Vec<NetworkDetail>> {
        across(caller, "networks")?;
        filter.visible_to = None;
        self.store
            .read(move |tx| {
                let nets = tx.network_list(&filter, &page)?;
                nets.into_iter()
                    .map(|n| {
                        let subnets = tx.subnets_of_network(n.id)?;
                        Ok(NetworkDetail {
                            network: n,
                            subnets,
                        })
                    })
                    .collect()
            })
            .await
    }

    /// `subnet_list_every_project`: a page (by id) of every project's
    /// subnets.
    pub async fn subnet_list_every_project(
        &self,
        caller: &Caller,
        page: PageRequest,
    ) -> Result<Vec<Subnet>> {
        across(caller, "subnets")?;
        self.store.read(move |tx| tx.subnet_page(&page)).await
    }

    /// `interface_list_every_project`: a page of every project's
    /// interfaces (ports), narrowed by the filter, in the page's order.
    pub async fn interface_list_every_project(
        &self,
        caller: &Caller,
        mut filter: InterfaceFilter,
        page: PageRequest,
    ) -> Result<Vec<Interface>> {
        across(caller, "ports")?;
        filter.project_id = None;
        self.store
            .read(move |tx| tx.interface_list(&filter, &page))
            .await
    }
}
