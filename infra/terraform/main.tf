# Deployment settings of the provincial platform, rendered into the environment file that the
# web and worker services read (see the README's settings table). Cloud resources (PostgreSQL,
# Redis, hosts and the wildcard DNS record *.<base_domain>) are added per target environment.

terraform {
  required_version = ">= 1.5"
  required_providers {
    local = {
      source  = "hashicorp/local"
      version = "~> 2.5"
    }
  }
}

variable "base_domain" {
  description = "The provincial portal's host; every tenant is a subdomain of it (wildcard DNS and certificate)."
  type        = string
}

variable "database_url" {
  description = "PostgreSQL URL (direct or through a session-mode pooler, never transaction mode)."
  type        = string
  sensitive   = true
}

variable "broker_url" {
  description = "Job broker URL: redis://… or amqp://…"
  type        = string
  sensitive   = true
}

variable "secret_key" {
  description = "Django's secret key."
  type        = string
  sensitive   = true
}

variable "tenant_schemas_per_connection" {
  description = "Recycle a database connection after it entered this many tenant schemas."
  type        = number
  default     = 50
}

variable "trusted_proxies" {
  description = "Addresses or CIDR networks of the load balancers whose X-Forwarded-For / X-Forwarded-Proto are believed (e.g. the VPC's CIDR)."
  type        = list(string)
}

variable "output_path" {
  description = "Where to write the environment file."
  type        = string
  default     = "platform.env"
}

resource "local_sensitive_file" "environment" {
  filename        = var.output_path
  file_permission = "0600"
  content = join("\n", [
    "PLATFORM_BASE_DOMAIN=${var.base_domain}",
    "DATABASE_URL=${var.database_url}",
    "DRAMATIQ_BROKER_URL=${var.broker_url}",
    "SECRET_KEY=${var.secret_key}",
    "SECURE_COOKIES=1",
    "TENANT_SCHEMAS_PER_CONNECTION=${var.tenant_schemas_per_connection}",
    "TRUSTED_PROXIES=${join(",", var.trusted_proxies)}",
    "",
  ])
}

output "portal_url" {
  value = "https://${var.base_domain}/"
}
