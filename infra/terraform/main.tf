# Deployment of the provincial platform on AWS ECS: the task definitions of the web server, the job
# worker, the migrations and the audit checkpoint job, with the settings of the README's table.
# Secrets (keys, database and broker URLs) are never values here or in Terraform's state: they live
# in AWS Secrets Manager under `<secrets_prefix>/…` (created and filled by the operators, see
# README "Keys") and ECS hands them to the containers at start. Cluster, network, PostgreSQL, Redis
# and the wildcard DNS record *.<base_domain> are added per target environment.

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}

variable "region" {
  description = "AWS region."
  type        = string
}

variable "base_domain" {
  description = "The provincial portal's host; every tenant is a subdomain of it (wildcard DNS and certificate)."
  type        = string
}

variable "image" {
  description = "The platform's container image (the repository with its dependencies installed)."
  type        = string
}

variable "secrets_prefix" {
  description = <<-EOT
    Prefix of the platform's secrets in Secrets Manager. Expected secrets: secret-key, identity-key,
    audit-key (three different random values), database-url-app (the application role,
    platform_app), database-url-owner (the owner role, platform_owner: migrations only),
    broker-url, cache-url (Redis, for the rate limits), and during an IDENTITY_KEY rotation
    identity-previous-keys (see rotating_identity_key).
  EOT
  type        = string
  default     = "govplatform/production"
}

variable "trusted_proxies" {
  description = "Addresses or CIDR networks of the load balancers whose X-Forwarded-For / X-Forwarded-Proto are believed (e.g. the VPC's CIDR)."
  type        = list(string)
}

variable "rotating_identity_key" {
  description = "True while `rotate_identity_key` runs: the services also get <secrets_prefix>/identity-previous-keys."
  type        = bool
  default     = false
}

variable "execution_role_arn" {
  description = "IAM role ECS uses to pull the image and read exactly the secrets above (secretsmanager:GetSecretValue)."
  type        = string
}

variable "cluster_arn" {
  description = "ECS cluster the scheduled audit checkpoint runs on."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets of the scheduled audit checkpoint task."
  type        = list(string)
}

variable "scheduler_role_arn" {
  description = "IAM role EventBridge Scheduler uses to run the checkpoint task (ecs:RunTask, iam:PassRole)."
  type        = string
}

variable "tenant_schemas_per_connection" {
  description = "Recycle a database connection after it entered this many tenant schemas: 64 MB per backend ÷ the measured cost per schema (`python -m bench.memory`)."
  type        = number
  default     = 3000
}

variable "audit_checkpoint_minutes" {
  description = "How often the audit chain's head is signed: entries newer than the last checkpoint are the only ones a cut can remove unnoticed."
  type        = number
  default     = 5
}

locals {
  secret_names = merge(
    {
      SECRET_KEY          = "secret-key"
      IDENTITY_KEY        = "identity-key"
      AUDIT_KEY           = "audit-key"
      DRAMATIQ_BROKER_URL = "broker-url"
      # Redis for the per-address rate limits, shared by every instance.
      CACHE_URL = "cache-url"
    },
    var.rotating_identity_key ? { IDENTITY_PREVIOUS_KEYS = "identity-previous-keys" } : {},
  )
  environment = [
    { name = "PLATFORM_ENV", value = "production" },
    { name = "PLATFORM_BASE_DOMAIN", value = var.base_domain },
    { name = "SECURE_COOKIES", value = "1" },
    { name = "TRUSTED_PROXIES", value = join(",", var.trusted_proxies) },
    { name = "TENANT_SCHEMAS_PER_CONNECTION", value = tostring(var.tenant_schemas_per_connection) },
    { name = "DATABASE_APP_ROLE", value = "platform_app" },
  ]
  shared_secrets = [for name, secret in data.aws_secretsmanager_secret.platform : { name = name, valueFrom = secret.arn }]
  # The web server, the worker and the checkpoint job log in as the application role, which can't
  # alter or empty the audit log; only the migration task gets the owner role.
  app_secrets   = concat(local.shared_secrets, [{ name = "DATABASE_URL", valueFrom = data.aws_secretsmanager_secret.database_app.arn }])
  owner_secrets = concat(local.shared_secrets, [{ name = "DATABASE_URL", valueFrom = data.aws_secretsmanager_secret.database_owner.arn }])
  tasks = {
    # gthread, one process per core with 8 threads each, as `./dev start` (README "Web server").
    web              = { command = ["gunicorn", "govplatform.wsgi", "--preload", "--bind", "0.0.0.0:8000", "--worker-class", "gthread", "--workers", "2", "--threads", "8"], secrets = local.app_secrets }
    worker           = { command = ["python", "manage.py", "run_worker"], secrets = local.app_secrets }
    migrate          = { command = ["python", "manage.py", "migrate_tenants"], secrets = local.owner_secrets }
    audit-checkpoint = { command = ["python", "manage.py", "audit_checkpoint"], secrets = local.app_secrets }
  }
}

data "aws_secretsmanager_secret" "platform" {
  for_each = local.secret_names
  name     = "${var.secrets_prefix}/${each.value}"
}

data "aws_secretsmanager_secret" "database_app" {
  name = "${var.secrets_prefix}/database-url-app"
}

data "aws_secretsmanager_secret" "database_owner" {
  name = "${var.secrets_prefix}/database-url-owner"
}

provider "aws" {
  region = var.region
}

# The application log leaves the database host: the audit checkpoints written there are what
# `verify_audit_chain --checkpoints` compares the database with.
resource "aws_cloudwatch_log_group" "platform" {
  name              = "/govplatform/${var.base_domain}"
  retention_in_days = 3653
}

resource "aws_ecs_task_definition" "platform" {
  for_each                 = local.tasks
  family                   = "govplatform-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 1024
  memory                   = 2048
  execution_role_arn       = var.execution_role_arn
  container_definitions = jsonencode([{
    name        = each.key
    image       = var.image
    command     = each.value.command
    essential   = true
    environment = local.environment
    secrets     = each.value.secrets
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.platform.name
        awslogs-region        = var.region
        awslogs-stream-prefix = each.key
      }
    }
  }])
}

resource "aws_scheduler_schedule" "audit_checkpoint" {
  name                = "govplatform-audit-checkpoint"
  schedule_expression = "rate(${var.audit_checkpoint_minutes} minutes)"
  flexible_time_window {
    mode = "OFF"
  }
  target {
    arn      = var.cluster_arn
    role_arn = var.scheduler_role_arn
    ecs_parameters {
      task_definition_arn = aws_ecs_task_definition.platform["audit-checkpoint"].arn
      launch_type         = "FARGATE"
      network_configuration {
        subnets = var.subnet_ids
      }
    }
  }
}

output "portal_url" {
  value = "https://${var.base_domain}/"
}
